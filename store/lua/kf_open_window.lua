-- KEYS: window hash. ARGV: customer message time, ttl, msgid. A re-pulled older message must not
-- reset the count; two messages in the same second (send_time is in seconds) both do.
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local at = tonumber(ARGV[1])
if at > last or (at == last and redis.call('HGET', KEYS[1], 'msg') ~= ARGV[3]) then
  redis.call('HSET', KEYS[1], 'last', ARGV[1], 'replies', 0, 'msg', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
