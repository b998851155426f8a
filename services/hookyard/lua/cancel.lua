-- Cancel a job: at once when it waits, by request (honoured between steps) when it runs.
--
-- KEYS: job hash, queued zset, retrying zset, cancelled zset, totals hash
-- ARGV: now_ms, error_json
-- Returns 'cancelled', 'requested' (running), or the terminal state it is already in.
local now = ARGV[1]
local job = KEYS[1]
local state, id = unpack(redis.call('HMGET', job, 'state', 'id'))
if not id then
  return 'missing'
end
if state == 'queued' or state == 'retrying' then
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], now, id)
  redis.call('HSET', job, 'state', 'cancelled', 'error', ARGV[2], 'finished_at', now,
    'updated_at', now)
  redis.call('HINCRBY', KEYS[5], 'cancelled', 1)
  return 'cancelled'
end
if state == 'running' then
  redis.call('HSET', job, 'cancel_requested', '1', 'updated_at', now)
  return 'requested'
end
return state
