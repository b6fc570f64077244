--#include groupbuy_prelude
local g = gate()
if g then return finish({code = g, owner = a.owner}) end
if (a.qty or 0) < 1 then return finish({code = 'bad_qty', owner = a.owner}) end
local who = a.who or ''
local l = pick(a.owner, who)
if l then return finish({code = 'exists', line = show(l), owner = a.owner}) end
return join_new(a.owner, who, a.qty)
