-- Record a running job's progress; ignored once the job is no longer running.
-- KEYS: job hash. ARGV: progress_json, now_ms.
-- Returns {recorded (1/0), cancel_requested (1/0)} so long jobs learn of a cancel cheaply.
local job = KEYS[1]
local state, cancel = unpack(redis.call('HMGET', job, 'state', 'cancel_requested'))
if state ~= 'running' then
  return {0, cancel == '1' and 1 or 0}
end
redis.call('HSET', job, 'progress', ARGV[1], 'updated_at', ARGV[2])
return {1, cancel == '1' and 1 or 0}
