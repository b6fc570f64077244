-- One claim on one campaign, decided in the campaign's slot ({cp:<id>}). The candidate code was
-- reserved in the code index first (coupons_reserve.lua); Coupons.claim files an issued code's
-- final index time and the wallet afterwards (store/coupons.py says why this is still exactly once).
-- KEYS: 1 meta, 2 holders, 3 candidate code record, 4 claims memo, 5 expiry zset, 6 log
-- ARGV: 1 shopper, 2 msg id, 3 candidate code, 4 now, 5 end of today (local), 6 shopper's store,
-- 7 joined_at ('' unknown), 8 reply target, 9 campaign id, 10 grace seconds after expiry
--#include coupons_in_scope
local now = tonumber(ARGV[4])
local function expiries(csv)
  local out = {}
  for code in string.gmatch(csv, '[^,]+') do
    out[#out + 1] = redis.call('ZSCORE', KEYS[5], code) or ''
  end
  return table.concat(out, ',')
end
local prev = redis.call('HGET', KEYS[4], ARGV[2])
if prev then return {'again', prev, expiries(prev)} end
local m = redis.call('HMGET', KEYS[1], 'state', 'total', 'issued', 'per_person', 'valid_days', 'ends_at',
                     'stores', 'owner', 'new_member_days')
if m[1] ~= 'live' then return {'not_live'} end
if m[6] and m[6] ~= '' and now > tonumber(m[6]) then return {'ended'} end
if not in_scope(m[7], m[8], ARGV[6]) then return {'wrong_store'} end
if m[9] and m[9] ~= '' then
  if ARGV[7] == '' then return {'not_member'} end
  if now - tonumber(ARGV[7]) > tonumber(m[9]) * 86400 then return {'not_new'} end
end
local held = redis.call('HGET', KEYS[2], ARGV[1])
local count = 0
if held then
  local _, commas = string.gsub(held, ',', '')
  count = commas + 1
  if count >= tonumber(m[4]) then return {'held', held, expiries(held)} end
end
if tonumber(m[3] or '0') >= tonumber(m[2]) then
  return {'sold_out', held or '', held and expiries(held) or ''}
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'collision'}
end
local expires
if m[6] and m[6] ~= '' then
  expires = tonumber(m[6])
else
  expires = tonumber(ARGV[5]) + (tonumber(m[5]) - 1) * 86400
end
redis.call('HSET', KEYS[3], 'campaign', ARGV[9], 'code', ARGV[3], 'holder', ARGV[1], 'store', ARGV[6],
           'issued_at', ARGV[4], 'expires_at', expires, 'state', 'issued', 'msg', ARGV[2], 'target', ARGV[8])
redis.call('HSET', KEYS[2], ARGV[1], held and (held .. ',' .. ARGV[3]) or ARGV[3])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[5], expires, ARGV[3])
redis.call('HINCRBY', KEYS[1], 'issued', 1)
redis.call('XADD', KEYS[6], '*', 'ev', 'issue', 'code', ARGV[3], 'who', ARGV[1], 'at', ARGV[4],
           'store', ARGV[6], 'msg', ARGV[2])
redis.call('EXPIRE', KEYS[3], math.max(1, expires + tonumber(ARGV[10]) - now))  -- relative: callers' clocks
local left = redis.call('PTTL', KEYS[1])  -- a campaign with an end date expires as a whole
if left > 0 then
  for _, i in ipairs({2, 4, 5, 6}) do redis.call('PEXPIRE', KEYS[i], left) end
end
return {'issued', ARGV[3], tostring(expires)}
