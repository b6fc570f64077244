-- Give back a reserved code the claim did not issue (the campaign said no, or it was a redelivery).
-- KEYS: 1 index shard, 2 its removal-time zset. ARGV: 1 code, 2 campaign id. 1 = released.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
