-- clear the bare-确认 pointer unless it was set by this same message (a redelivered draft command)
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local d = cjson.decode(raw)
if d.conversation == ARGV[1] and d.shown_by ~= ARGV[2] and (d.used_by == nil or d.used_by == cjson.null) then
  return redis.call('DEL', KEYS[1])
end
return 0
