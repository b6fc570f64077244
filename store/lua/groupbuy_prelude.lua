-- The 接龙 ledger's shared part: every groupbuy_* step script includes it (store/groupbuy.py).
-- KEYS: meta, lines, owners, wait, msgs of one 团 (one hash tag).
-- ARGV[1] message id ("" = not idempotent), ARGV[2] now (epoch seconds), ARGV[3] JSON arguments.
local META, LINES, OWNERS, WAIT, MSGS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mid = ARGV[1]
local now = tonumber(ARGV[2])
local a = cjson.decode(ARGV[3])

if mid ~= '' then
  local prev = redis.call('HGET', MSGS, mid)
  if prev then return prev end
end
local exists = redis.call('EXISTS', META) == 1

local function num(f) return tonumber(redis.call('HGET', META, f) or '0') or 0 end
local function getline(no)
  local raw = redis.call('HGET', LINES, tostring(no))
  if raw then return cjson.decode(raw) end
  return nil
end
local function putline(l) redis.call('HSET', LINES, tostring(l.no), cjson.encode(l)) end
local function live(l) return l.status == 'active' or l.status == 'waiting' end
local function owned(owner)
  local raw = redis.call('HGET', OWNERS, owner)
  if raw then return cjson.decode(raw) end
  return {}
end
local function mylines(owner)
  local out = {}
  for _, no in ipairs(owned(owner)) do
    local l = getline(no)
    if l and live(l) then table.insert(out, l) end
  end
  return out
end
local function owner_sum(owner)
  local s = 0
  for _, l in ipairs(mylines(owner)) do s = s + l.qty end
  return s
end
local function show(l)
  if l.status == 'waiting' then
    local pos = redis.call('LPOS', WAIT, tostring(l.no))
    l.pos = (pos or 0) + 1
  end
  return l
end
local function gate()
  if not exists then return 'no_group' end
  local st = redis.call('HGET', META, 'status')
  if st ~= 'open' then return 'gb_' .. st end
  if now >= num('cutoff') then return 'cutoff' end
  return nil
end
local function finish(res)
  if not exists then return cjson.encode(res) end
  res.op = redis.call('HINCRBY', META, 'ops', 1)
  res.total, res.waiting, res.cap = num('total'), num('waiting'), num('cap')
  res.status = redis.call('HGET', META, 'status')
  if res.owner then
    local mine = {}
    for _, l in ipairs(mylines(res.owner)) do table.insert(mine, show(l)) end
    res.mine = mine
  end
  local out = cjson.encode(res)
  if mid ~= '' then redis.call('HSET', MSGS, mid, out) end
  return out
end
local function add_line(owner, who, qty)
  local no = redis.call('HINCRBY', META, 'seq', 1)
  local cap = num('cap')
  local l = {no = no, owner = owner, who = who, name = a.name or '', tag = a.tag or '', qty = qty,
             target = a.target or '', by = a.by or owner, created = now, updated = now}
  if l.tag == '' then  -- a proxy line is picked up by the same household: inherit its tag
    for _, o in ipairs(mylines(owner)) do
      if o.tag ~= '' then l.tag = o.tag break end
    end
  end
  if cap == 0 or (redis.call('LLEN', WAIT) == 0 and num('total') + qty <= cap) then
    l.status = 'active'
    redis.call('HINCRBY', META, 'total', qty)
  else
    l.status = 'waiting'
    redis.call('RPUSH', WAIT, tostring(no))
    redis.call('HINCRBY', META, 'waiting', qty)
  end
  putline(l)
  local list = owned(owner)
  table.insert(list, no)
  redis.call('HSET', OWNERS, owner, cjson.encode(list))
  return l
end
local function drop(l)
  if l.status == 'active' then
    redis.call('HINCRBY', META, 'total', -l.qty)
  elseif l.status == 'waiting' then
    redis.call('LREM', WAIT, 0, tostring(l.no))
    redis.call('HINCRBY', META, 'waiting', -l.qty)
  end
  l.status = 'cancelled'
  l.updated = now
  putline(l)
  return l
end
local function promote()
  local cap, total, moved = num('cap'), num('total'), {}
  while true do
    local head = redis.call('LINDEX', WAIT, 0)
    if not head then break end
    local l = getline(head)
    if cap > 0 and total + l.qty > cap then break end
    redis.call('LPOP', WAIT)
    l.status = 'active'
    l.updated = now
    putline(l)
    total = total + l.qty
    redis.call('HINCRBY', META, 'total', l.qty)
    redis.call('HINCRBY', META, 'waiting', -l.qty)
    table.insert(moved, l)
  end
  return moved
end
local function pick(owner, who)
  local mine = mylines(owner)
  if who ~= nil then
    for _, l in ipairs(mine) do if l.who == who then return l, nil end end
    return nil, nil
  end
  for _, l in ipairs(mine) do if l.who == '' then return l, nil end end
  if #mine == 1 then return mine[1], nil end
  if #mine == 0 then return nil, nil end
  return nil, 'ambiguous'
end
local function room()
  local cap = num('cap')
  if cap == 0 then return -1 end
  if redis.call('LLEN', WAIT) > 0 then return 0 end
  return math.max(0, cap - num('total'))
end
local function over_limit(owner, extra)
  local limit = num('per_person')
  if limit == 0 then return nil end
  local have = owner_sum(owner)
  if have + extra > limit then return math.max(0, limit - have) end
  return nil
end
local function join_new(owner, who, qty)
  local allowed = over_limit(owner, qty)
  if allowed then return finish({code = 'limit', allowed = allowed, owner = owner}) end
  local l = add_line(owner, who, qty)
  local code = 'joined'
  if l.status == 'waiting' then code = 'waiting' end
  return finish({code = code, line = show(l), owner = owner})
end
-- Change one live line to qty (> 0); returns the result table (not yet finished).
local function resize(l, qty)
  local delta = qty - l.qty
  if delta == 0 then return {code = 'unchanged', line = show(l), owner = l.owner} end
  if delta > 0 then
    local allowed = over_limit(l.owner, delta)
    if allowed then return {code = 'limit', allowed = allowed, line = show(l), owner = l.owner} end
    if l.status == 'active' and num('cap') > 0 and
       (redis.call('LLEN', WAIT) > 0 or num('total') + delta > num('cap')) then
      return {code = 'full', room = room(), line = show(l), owner = l.owner}
    end
  end
  if l.status == 'active' then
    redis.call('HINCRBY', META, 'total', delta)
  else
    redis.call('HINCRBY', META, 'waiting', delta)
  end
  local old = l.qty
  l.qty = qty
  l.updated = now
  putline(l)
  local res = {code = 'changed', from = old, owner = l.owner}
  res.promoted = promote()
  res.line = show(getline(l.no))
  return res
end
