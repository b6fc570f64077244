-- Move the archive's seq cursor forward, fenced by the reader's lease: a reader that lost the
-- lease cannot move the cursor of the one that took over, and the cursor never moves back.
-- KEYS: 1 lease, 2 cursor hash (one {arc:<corp>} slot). ARGV: owner, seq, now.
-- 1 saved (or already at or after seq), 0 not the owner.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if tonumber(ARGV[2]) > cur then
  redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'at', ARGV[3])
end
return 1
