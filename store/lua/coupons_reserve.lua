-- Reserve a candidate code in the code index (its shard's slot) before a claim may issue it: a code
-- any campaign holds or reserved is refused, so no code is ever issued twice. The removal time is
-- provisional (as late as any code can live); filing an issued code sets its real one.
-- KEYS: 1 index shard, 2 its removal-time zset. ARGV: 1 code, 2 campaign id, 3 provisional removal time.
-- 1 = reserved for this campaign, 0 = taken.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
