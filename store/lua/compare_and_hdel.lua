-- Delete a hash field only while it still holds the given value.
-- KEYS[1] the hash. ARGV: field, value. Returns 1 when deleted, 0 otherwise.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
