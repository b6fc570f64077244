-- KEYS: wallet. ARGV: member, now, keep until, drop entries issued before. The TTL only grows.
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])
local t = redis.call('TTL', KEYS[1])
local want = tonumber(ARGV[3]) - tonumber(ARGV[2])
if t < 0 or t < want then redis.call('EXPIRE', KEYS[1], math.max(1, want)) end
