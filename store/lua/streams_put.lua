-- Dedupe + XADD of entries of one partition (so every key is in one hash slot), in order: an entry
-- is appended only the first time its dedupe marker is set. Returns the new entry id or false per entry.
-- KEYS: marker and stream per entry; ARGV: ttl, then payload and route key per entry. One reply
-- for the lot: reading a reply per entry was most of the group commit's Python time.
local out = {}
for i = 1, #KEYS / 2 do
  if redis.call('SET', KEYS[2 * i - 1], '1', 'NX', 'EX', ARGV[1]) then
    out[i] = redis.call('XADD', KEYS[2 * i], '*', 'k', ARGV[2 * i + 1], 'd', ARGV[2 * i])
  else
    out[i] = false
  end
end
return out
