-- KEYS: held, meta, due. ARGV: target, item. The first entry is done (sent or dead-lettered):
-- drop it and return the next one, or unpark the target when none is left.
if redis.call('LINDEX', KEYS[1], 0) == ARGV[2] then redis.call('LPOP', KEYS[1]) end
redis.call('DEL', KEYS[2])
local nxt = redis.call('LINDEX', KEYS[1], 0)
if not nxt then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
return nxt
