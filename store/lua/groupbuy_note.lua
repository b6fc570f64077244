--#include groupbuy_prelude
-- Bookkeeping that is not a ledger change (no message id, no op number).
if not exists then return cjson.encode({code = 'no_group'}) end
local prev = redis.call('HGET', META, a.field)
if a.only_new and prev then return cjson.encode({code = 'kept', value = prev}) end
redis.call('HSET', META, a.field, a.value)
return cjson.encode({code = 'set', value = a.value})
