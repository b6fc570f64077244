-- KEYS[1] the conversation's marker for this kind; ARGV: message id, seconds. 1 when this message
-- may be answered: none answered lately, or this very message was (a redelivery must answer again).
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
