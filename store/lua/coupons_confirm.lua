-- KEYS: 1 meta, 2 log.  ARGV: 1 now, 2 by.  Returns live | already | stopped | missing.
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return 'missing' end
if s == 'live' then return 'already' end
if s ~= 'draft' then return s end
redis.call('HSET', KEYS[1], 'state', 'live', 'live_at', ARGV[1], 'confirmed_by', ARGV[2])
redis.call('PERSIST', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'ev', 'live', 'who', ARGV[2], 'at', ARGV[1])
return 'live'
