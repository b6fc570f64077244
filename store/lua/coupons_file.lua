-- File an issued code in the code index with its real removal time (expiry + grace); idempotent.
-- KEYS: 1 index shard, 2 its removal-time zset. ARGV: 1 code, 2 campaign id, 3 removal time.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
