-- KEYS: held, due, meta. ARGV: target, item, wake ms or "". 1 = held behind the parked ones,
-- 0 = target not parked. With a wake time, a first entry waiting only for kf's reply quota is
-- tried again then: a new reply to a kf shopper usually means the shopper wrote again.
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if not redis.call('LPOS', KEYS[1], ARGV[2]) then redis.call('RPUSH', KEYS[1], ARGV[2]) end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], 'kind') == 'quota' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
