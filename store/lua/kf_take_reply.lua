-- KEYS: window hash. ARGV: now, window seconds, max replies.
-- 'ok' (counted), 'unknown' (no customer message seen: let WeCom decide), 'window', 'quota'.
local last = redis.call('HGET', KEYS[1], 'last')
if not last then return 'unknown' end
if tonumber(ARGV[1]) > tonumber(last) + tonumber(ARGV[2]) then return 'window' end
if tonumber(redis.call('HGET', KEYS[1], 'replies') or '0') >= tonumber(ARGV[3]) then return 'quota' end
redis.call('HINCRBY', KEYS[1], 'replies', 1)
return 'ok'
