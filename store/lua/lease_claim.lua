-- Take a free lease or renew our own. KEYS[1] lease; ARGV: owner, ttl ms.
-- Returns 2 (newly taken: adopt what the last owner left), 1 (renewed) or 0 (someone else's).
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
