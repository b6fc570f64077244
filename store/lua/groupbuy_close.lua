--#include groupbuy_prelude
-- Flip open -> closed exactly once; only the call that flips it reports closed_now.
if not exists then return finish({code = 'no_group'}) end
local st = redis.call('HGET', META, 'status')
if st ~= 'open' then
  return finish({code = 'gb_' .. st, closed_now = false, result = redis.call('HGET', META, 'result') or ''})
end
if a.reason == 'cutoff' and now < num('cutoff') then return cjson.encode({code = 'not_due'}) end
local total, min = num('total'), num('min_to_form')
local result = 'failed'
if min == 0 or total >= min then result = 'formed' end
redis.call('HSET', META, 'status', 'closed', 'closed_at', tostring(now), 'result', result,
           'close_reason', a.reason or '', 'closed_by', a.by or '')
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, a.keep) end
return finish({code = 'closed_now', closed_now = true, result = result,
               shortfall = math.max(0, min - total)})
