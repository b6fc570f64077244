--#include groupbuy_prelude
if not exists then return finish({code = 'no_group'}) end
local st = redis.call('HGET', META, 'status')
if st == 'cancelled' then return finish({code = 'gb_cancelled', cancelled_now = false}) end
redis.call('HSET', META, 'status', 'cancelled', 'cancelled_at', tostring(now), 'cancelled_by', a.by or '',
           'was', st)
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, a.keep) end
return finish({code = 'cancelled_now', cancelled_now = true, was = st})
