-- KEYS: due, partition stream. ARGV: now ms, lease ms, max targets.
-- Claims due targets for `lease` (their score becomes the claim token) and queues a resume marker
-- for each in the partition stream, with the fields the stream's own XADD uses (k = route, d = data).
-- No MAXLEN here: a cap could trim entries not yet handled; bounding the stream is its owner's job.
-- A marker lost with a crashed worker is claimed again once the lease has passed.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local token = tostring(tonumber(ARGV[1]) + tonumber(ARGV[2]))
for _, target in ipairs(due) do
  redis.call('ZADD', KEYS[1], token, target)
  redis.call('XADD', KEYS[2], '*', 'k', target, 'd', '{"resume":' .. token .. '}')
end
return #due
