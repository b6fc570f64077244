-- KEYS: code index shard, its expiry ZSET. ARGV: now, batch. Drops index entries that are due.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return 0 end
redis.call('HDEL', KEYS[1], unpack(due))
redis.call('ZREM', KEYS[2], unpack(due))
return #due
