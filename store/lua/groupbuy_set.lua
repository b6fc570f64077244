--#include groupbuy_prelude
-- a.qty (absolute) or a.delta (relative); a.who absent = "the sender's line".
local g = gate()
if g then return finish({code = g, owner = a.owner}) end
local l, why = pick(a.owner, a.who)
if why then return finish({code = why, owner = a.owner}) end
local qty = a.qty
if l == nil then
  qty = qty or a.delta
  if qty == nil or qty < 1 then return finish({code = 'no_line', owner = a.owner}) end
  return join_new(a.owner, a.who or '', qty)
end
if qty == nil then qty = l.qty + a.delta end
if qty <= 0 then
  drop(l)
  return finish({code = 'cancelled', changed = {l}, promoted = promote(), owner = a.owner})
end
return finish(resize(l, qty))
