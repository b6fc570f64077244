-- SET with a TTL, as a script so it can be deferred to a message's ack (store/lua.py `later`).
-- KEYS: 1 key. ARGV: 1 value, 2 ttl seconds.
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
