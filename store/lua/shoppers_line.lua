-- KEYS: lines. ARGV: msg id, line JSON, keep, ttl. Skips a line already recorded (redelivery).
local recent = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
for _, v in ipairs(recent) do
  if string.find(v, ARGV[1], 1, true) then return 0 end
end
redis.call('LPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
