-- KEYS: greeted. ARGV: shopper, now, forget before. 1 the first time (within the retention).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
return redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
