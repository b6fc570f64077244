-- KEYS: meta, due. ARGV: target, next ms, meta field/value pairs. The first entry failed again.
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
