--#include groupbuy_prelude
if exists then return cjson.encode({code = 'exists'}) end
for k, v in pairs(a.fields) do redis.call('HSET', META, k, tostring(v)) end
redis.call('HSET', META, 'status', 'open', 'total', 0, 'waiting', 0, 'seq', 0, 'ops', 0)
return cjson.encode({code = 'created'})
