-- KEYS: batch list. ARGV: how many were sent. Drops them; returns how many still wait.
redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
return redis.call('LLEN', KEYS[1])
