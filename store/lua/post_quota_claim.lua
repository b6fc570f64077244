-- KEYS: a group's hash for one quota period. ARGV: post id, record JSON, limit, ttl.
-- '' when the post holds a slot (a redelivery finds its own), else the record of the latest post.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return '' end
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return ''
end
local best, at = '', -1
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  local ok, rec = pcall(cjson.decode, v)
  local t = (ok and tonumber(rec['at'])) or 0
  if t > at then best, at = v, t end
end
return best
