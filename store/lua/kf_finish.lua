-- KEYS: lock, cursor hash, again. ARGV: owner, ttl ms, cursor, since, through ms. A drain's last page:
-- kf_save and kf_release in one step. {-1} = lock lost (nothing saved); {0} = saved and released;
-- {1, token, now ms} = saved, and a "pull again" came meanwhile: lock kept for one more drain,
-- which starts at Redis time `now ms`.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
redis.call('HSET', KEYS[2], 'cursor', ARGV[3], 'since', ARGV[4])
if tonumber(redis.call('HGET', KEYS[2], 'through') or '0') < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], 'through', ARGV[5])
end
local again = redis.call('GET', KEYS[3])
if again then
  redis.call('DEL', KEYS[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local t = redis.call('TIME')
  return {1, again, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)}
end
redis.call('DEL', KEYS[1])
return {0}
