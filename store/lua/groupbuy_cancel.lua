--#include groupbuy_prelude
local g = gate()
if g then return finish({code = g, owner = a.owner}) end
local gone = {}
if a.entry then
  local l = getline(a.entry)
  if l == nil or not live(l) then return finish({code = 'no_line', owner = a.owner, entry = a.entry}) end
  if l.owner ~= a.owner then return finish({code = 'not_yours', owner = a.owner, entry = a.entry}) end
  table.insert(gone, drop(l))
elseif a.who ~= nil then
  local l = pick(a.owner, a.who)
  if l then table.insert(gone, drop(l)) end
else
  for _, l in ipairs(mylines(a.owner)) do table.insert(gone, drop(l)) end
end
if #gone == 0 then return finish({code = 'no_line', owner = a.owner}) end
return finish({code = 'cancelled', changed = gone, promoted = promote(), owner = a.owner})
