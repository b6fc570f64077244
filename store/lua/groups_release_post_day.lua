-- KEYS: claim. ARGV: post id. Frees the day only if this post holds it (its task was refused).
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, rec = pcall(cjson.decode, cur)
if ok and rec['post'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
