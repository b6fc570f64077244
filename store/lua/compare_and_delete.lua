-- Delete a key only while it still holds the value we set (a lock or lease owned by a token).
-- KEYS[1] the key. ARGV[1] the owner's value. Returns 1 when deleted, 0 when someone else's or gone.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
