-- KEYS: 1 meta, 2 code record, 3 log.  ARGV: 1 code, 2 store, 3 order no, 4 by, 5 now
--#include coupons_in_scope

local c = redis.call('HMGET', KEYS[2], 'state', 'order_no', 'redeemed_at', 'redeemed_store', 'expires_at')
local m = redis.call('HMGET', KEYS[1], 'state', 'stores', 'owner')
if not c[1] or not m[1] then return {'unknown'} end
if c[1] == 'redeemed' then
  if c[2] == ARGV[3] then return {'ok', '1', c[3], c[4], c[2]} end
  return {'already_redeemed', '0', c[3], c[4], c[2]}
end
if m[1] == 'stopped' then return {'stopped'} end
if tonumber(ARGV[5]) > tonumber(c[5]) then return {'expired'} end
if not in_scope(m[2], m[3], ARGV[2]) then return {'wrong_store'} end
redis.call('HSET', KEYS[2], 'state', 'redeemed', 'order_no', ARGV[3], 'redeemed_at', ARGV[5],
           'redeemed_store', ARGV[2], 'redeemed_by', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'redeemed', 1)
redis.call('XADD', KEYS[3], '*', 'ev', 'redeem', 'code', ARGV[1], 'who', ARGV[4], 'at', ARGV[5],
           'store', ARGV[2], 'order', ARGV[3])
return {'ok', '0', ARGV[5], ARGV[2], ARGV[3]}
