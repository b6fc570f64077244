-- Extend a lock only while we hold it. KEYS[1] the lock. ARGV: owner, ttl ms. 1 = extended, 0 = lost.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
