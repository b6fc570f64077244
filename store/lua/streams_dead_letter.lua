-- Store one dead letter, once per entry: a redelivered entry that is dead-lettered again (a crash
-- came between this and its XACK) finds the marker and stores nothing.
-- KEYS: 1 marker (the dead-letter stream's hash tag), 2 dead-letter stream.
-- ARGV: 1 marker ttl, 2 approximate cap, 3 data, 4 reason, 5 the entry's id. 1 = stored, 0 = already.
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'd', ARGV[3], 'reason', ARGV[4], 'from', ARGV[5])
return 1
