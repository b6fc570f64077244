-- KEYS: items, version, edit record, change log. ARGV: sku, store ('' = every row of the SKU),
-- attribute, JSON value, record TTL, change log length. Logs the rows it wrote under the new version. Changes one attribute once per message id and keeps {before, after}
-- under the message id, so a redelivery gets the same confirmation and changes nothing.
-- A store's change lands on its own row "<sku>@<store>": made from the all-stores row, or split
-- off a row shared with other stores (the others keep it), so no two rows serve one store.
local rec = redis.call('GET', KEYS[3])
if rec then return {0, rec} end
local sku, store, attr = ARGV[1], ARGV[2], ARGV[3]
local value = cjson.decode(ARGV[4])
local prefix = sku .. '@'
local rows = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #prefix) == prefix then rows[#rows + 1] = f end
end
if #rows == 0 then return {-1, false} end
table.sort(rows)
local before, after, touched = {}, {}, {}
if store == '' then
  for _, f in ipairs(rows) do
    local raw = redis.call('HGET', KEYS[1], f)
    local p = cjson.decode(raw)
    p[attr] = value
    local out = cjson.encode(p)
    redis.call('HSET', KEYS[1], f, out)
    touched[#touched + 1] = f
    before[#before + 1] = raw
    after[#after + 1] = out
  end
else
  local own, shared, star
  for _, f in ipairs(rows) do
    local tag = string.sub(f, #prefix + 1)
    if tag == store then own = f
    elseif tag == '*' then star = f
    else
      for s in string.gmatch(tag, '[^|]+') do if s == store then shared = f end end
    end
  end
  local base = own or shared or star
  if not base then return {-2, false} end
  local raw = redis.call('HGET', KEYS[1], base)
  if base == shared then
    local rest = {}
    for s in string.gmatch(string.sub(shared, #prefix + 1), '[^|]+') do
      if s ~= store then rest[#rest + 1] = s end
    end
    local q = cjson.decode(raw)
    q['stores'] = rest
    redis.call('HDEL', KEYS[1], shared)
    redis.call('HSET', KEYS[1], prefix .. table.concat(rest, '|'), cjson.encode(q))
    touched[#touched + 1] = shared
    touched[#touched + 1] = prefix .. table.concat(rest, '|')
  end
  local p = cjson.decode(raw)
  p[attr] = value
  p['stores'] = {store}
  local out = cjson.encode(p)
  redis.call('HSET', KEYS[1], prefix .. store, out)
  touched[#touched + 1] = prefix .. store
  before[1] = raw
  after[1] = out
end
rec = cjson.encode({before = before, after = after})
redis.call('SET', KEYS[3], rec, 'EX', ARGV[5])
local v = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[4], cjson.encode({v = v, f = touched}))
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[6]), -1)
return {1, rec}
