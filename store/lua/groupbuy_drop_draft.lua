-- Drop a guide's /开团 draft only if it is still the one confirmed (not a newer /开团).
-- KEYS[1] the draft. ARGV[1] the confirmed draft's id.
local d = redis.call('GET', KEYS[1])
if d and cjson.decode(d).draft == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
