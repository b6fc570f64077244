-- KEYS: meta, members. ARGV: op (add|del), last_ver, cur_ver, at, member ids...
-- Returns applied | dup | gap | unknown.
local ver = redis.call('HGET', KEYS[1], 'version')
if not ver then return 'unknown' end
if ARGV[3] ~= '' and ver == ARGV[3] then return 'dup' end
if ARGV[2] == '' or ver ~= ARGV[2] then return 'gap' end
for i = 5, #ARGV do
  if ARGV[1] == 'add' then redis.call('HSET', KEYS[2], ARGV[i], ARGV[4]) else redis.call('HDEL', KEYS[2], ARGV[i]) end
end
redis.call('HSET', KEYS[1], 'version', ARGV[3])
return 'applied'
