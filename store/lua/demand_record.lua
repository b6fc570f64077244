-- KEYS: index, askers, examples, guides, sources. ARGV: index member, shopper, example text, guide, ttl,
-- source (kf | group): the place the shopper asked first that day is the one counted.
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and redis.call('LLEN', KEYS[3]) < 3 then redis.call('RPUSH', KEYS[3], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[4], 1) end
redis.call('HINCRBY', KEYS[5], ARGV[6], 1)
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return 1
