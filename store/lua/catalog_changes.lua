-- KEYS: items, version, change log. ARGV: the version a process has, change log length.
-- {version} when nothing moved; {version, 0} when the log does not cover every version since
-- (an import, or too far behind): read everything; else {version, 1, field, row JSON or '' (gone), ...}.
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[1])
local n = v - since
if n <= 0 then return {v} end
if n > tonumber(ARGV[2]) then return {v, 0} end
local entries = redis.call('LRANGE', KEYS[3], -n, -1)
if #entries ~= n then return {v, 0} end
local out, seen = {v, 1}, {}
for i, raw in ipairs(entries) do
  local e = cjson.decode(raw)
  if tonumber(e.v) ~= since + i then return {v, 0} end
  if type(e.f) == 'table' then
    for _, f in ipairs(e.f) do
      if not seen[f] then
        seen[f] = true
        out[#out + 1] = f
        out[#out + 1] = redis.call('HGET', KEYS[1], f) or ''
      end
    end
  end
end
return out
