-- KEYS: held, meta, due. ARGV: target, item, next ms, meta field/value pairs.
-- 1 = parked now, 0 = the target was parked already: the item joined the end of its list.
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if not redis.call('LPOS', KEYS[1], ARGV[2]) then redis.call('RPUSH', KEYS[1], ARGV[2]) end
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
