-- KEYS: lock, again, cursor hash. ARGV: owner, ttl ms, token, again ttl s, callback received ms
-- ('' = pull whatever the last drain did). One round trip for what a pull needs before its first page:
-- {2} = a complete drain started after the callback was received (it queued what it announced);
-- {1, cursor, since, now ms} = lock taken, with the saved cursor and Redis's clock (the inbox ids');
-- {0} = held by another: the "pull again" flag is left with our token.
if ARGV[5] ~= '' and tonumber(redis.call('HGET', KEYS[3], 'through') or '0') > tonumber(ARGV[5]) then
  return {2}
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  local c = redis.call('HMGET', KEYS[3], 'cursor', 'since')
  local t = redis.call('TIME')
  return {1, c[1] or '', c[2] or '', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)}
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return {0}
