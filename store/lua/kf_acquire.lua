-- KEYS: lock, again. ARGV: owner, ttl ms, token. 1 = lock taken; 0 = held by another (flag left).
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return 0
