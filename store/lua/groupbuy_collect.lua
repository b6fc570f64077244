--#include groupbuy_prelude
-- Mark one line (a.no) or every line with a pickup tag (a.tag) collected.
if not exists then return finish({code = 'no_group'}) end
local st = redis.call('HGET', META, 'status')
if st ~= 'closed' then return finish({code = 'not_closed', was = st}) end
if redis.call('HGET', META, 'result') ~= 'formed' then return finish({code = 'failed'}) end
local found = {}
if a.no then
  local l = getline(a.no)
  if l then table.insert(found, l) end
else
  local all = redis.call('HVALS', LINES)
  for _, raw in ipairs(all) do
    local l = cjson.decode(raw)
    if l.tag ~= '' and l.tag == a.tag and (l.status == 'active' or l.status == 'collected') then
      table.insert(found, l)
    end
  end
  table.sort(found, function(x, y) return x.no < y.no end)
end
local changed, already = {}, {}
for _, l in ipairs(found) do
  if l.status == 'active' then
    l.status = 'collected'
    l.collected = now
    l.updated = now
    l.collected_by = a.by or ''
    putline(l)
    table.insert(changed, l)
  elseif l.status == 'collected' then
    table.insert(already, l)
  end
end
if #changed > 0 then return finish({code = 'collected', changed = changed, already = already}) end
if #already > 0 then return finish({code = 'already', already = already}) end
if #found > 0 then return finish({code = 'not_active', changed = found}) end
return finish({code = 'no_line'})
