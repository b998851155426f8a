-- A worker is about to run a job's message: decide whether it may, and record the start.
--
-- KEYS: job hash, queued zset, retrying zset, running zset, failed zset, totals hash
-- ARGV: redis_message_id, now_ms, max_deliveries
-- Returns {verdict, attempts, max_attempts} where verdict is:
--   run        record now says running; run the actor
--   missing    no job record (never created, or trimmed): nothing to run
--   stale      this message is not the job's current one (it was re-enqueued since)
--   terminal   the job already ended (e.g. cancelled while waiting)
--   dead       the job was handed out max_deliveries times already: its workers keep dying
--   suspect    the job's previous delivery died mid-run (the record still says running): the
--              caller re-runs it only after a backoff (see hookyard.lifecycle), nothing written
local rmid, now, max_deliveries = ARGV[1], ARGV[2], tonumber(ARGV[3])
local job = KEYS[1]
if redis.call('EXISTS', job) == 0 then
  return {'missing', 0, 0}
end
local state, current, attempts, max_attempts, id =
  unpack(redis.call('HMGET', job, 'state', 'rmid', 'attempts', 'max_attempts', 'id'))
if current ~= rmid then
  return {'stale', tonumber(attempts), tonumber(max_attempts)}
end
if state == 'succeeded' or state == 'failed' or state == 'cancelled' or state == 'superseded' then
  return {'terminal', tonumber(attempts), tonumber(max_attempts)}
end
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
if tonumber(attempts) >= max_deliveries then
  local err = cjson.encode({code = 'delivery_cap_exceeded',
    message = 'The job was handed to a worker ' .. attempts .. ' times without finishing ' ..
      '(its worker died each time). Inspect the payload, fix the cause, then replay it.'})
  redis.call('HSET', job, 'state', 'failed', 'error', err, 'finished_at', now, 'updated_at', now)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('HINCRBY', KEYS[6], 'failed', 1)
  return {'dead', tonumber(attempts), tonumber(max_attempts)}
end
if state == 'running' then
  return {'suspect', tonumber(attempts), tonumber(max_attempts)}
end
attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('HSET', job, 'state', 'running', 'updated_at', now)
if redis.call('HEXISTS', job, 'started_at') == 0 then
  redis.call('HSET', job, 'started_at', now)
end
redis.call('ZADD', KEYS[4], now, id)
return {'run', attempts, tonumber(max_attempts)}
