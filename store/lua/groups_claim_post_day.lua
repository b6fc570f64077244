-- KEYS: claim. ARGV: post id, record JSON, ttl. The same post may re-claim (redelivery).
-- Returns '' when claimed, else the record of the post that holds the day.
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return ''
end
local ok, rec = pcall(cjson.decode, cur)
if ok and rec['post'] == ARGV[1] then return '' end
return cur
