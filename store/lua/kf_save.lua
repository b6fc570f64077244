-- KEYS: lock, cursor hash. ARGV: owner, ttl ms, cursor, since, through ms ("" mid-drain). Saves only
-- while we hold the lock. `through` (when the last complete drain started) only moves forward.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'cursor', ARGV[3], 'since', ARGV[4])
if ARGV[5] ~= '' and tonumber(redis.call('HGET', KEYS[2], 'through') or '0') < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], 'through', ARGV[5])
end
return 1
