-- KEYS: queued marker, batch list (one group's hash tag). ARGV: item JSON, batch ttl.
-- Queues a message's question once: 1 when queued now, 0 when a delivery before did.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', 3 * 86400) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
