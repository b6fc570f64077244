-- KEYS: ctx. ARGV: scene, scene_param, at. Only a newer enter_session replaces the scene.
local at = tonumber(redis.call('HGET', KEYS[1], 'scene_at') or '-1')
if tonumber(ARGV[3]) >= at then
  redis.call('HSET', KEYS[1], 'scene', ARGV[1], 'scene_param', ARGV[2], 'scene_at', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
