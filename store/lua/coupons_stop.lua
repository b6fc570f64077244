-- KEYS: 1 meta, 2 log.  ARGV: 1 now, 2 by.  Returns the previous state, 'already' or 'missing'.
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return 'missing' end
if s == 'stopped' then return 'already' end
redis.call('HSET', KEYS[1], 'state', 'stopped', 'stopped_at', ARGV[1], 'stopped_by', ARGV[2])
redis.call('PERSIST', KEYS[1])
redis.call('XADD', KEYS[2], '*', 'ev', 'stop', 'who', ARGV[2], 'at', ARGV[1])
return s
