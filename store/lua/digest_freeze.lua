if redis.call('HEXISTS', KEYS[1], 'inputs') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'inputs', ARGV[1], 'totals', ARGV[2], 'frozen_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
