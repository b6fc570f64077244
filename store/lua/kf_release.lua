-- KEYS: lock, again. ARGV: owner, ttl ms. {1, token} = go again (lock kept), {0} = released, {-1} = lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local again = redis.call('GET', KEYS[2])
if again then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, again}
end
redis.call('DEL', KEYS[1])
return {0}
