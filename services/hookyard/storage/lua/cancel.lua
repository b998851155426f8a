-- Cancel a job: at once when it waits, by request (honoured between steps) when it runs.
--
-- KEYS: job hash, queued zset, retrying zset, cancelled zset, totals hash,
--       [audited] audit stream
-- ARGV: now_ms, error_json,
--       [audited] who, action, request_id, max_entries, oldest_kept_id, retention_ms
-- Audited, a cancel or cancel request appends its audit entry in the same step (fields as in
-- hookyard/audit.py), so neither can exist without the other; a refused cancel (missing, or
-- already ended) writes nothing and the caller records the refusal.
-- Returns 'cancelled', 'requested' (running), 'missing', or the terminal state it is already in.
local now = ARGV[1]
local job = KEYS[1]
local state, id, shop = unpack(redis.call('HMGET', job, 'state', 'id', 'shop'))
if not id then
  return 'missing'
end
local function audit(outcome)
  local stream = KEYS[6]
  if stream then
    redis.call('XADD', stream, 'MAXLEN', ARGV[6], '*', 'who', ARGV[3], 'action', ARGV[4],
      'job_id', id, 'outcome', outcome, 'error', '', 'shop', shop or '', 'request_id', ARGV[5])
    redis.call('XTRIM', stream, 'MINID', ARGV[7])
    redis.call('PEXPIRE', stream, ARGV[8])
  end
end
if state == 'queued' or state == 'retrying' then
  audit('cancelled')
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], now, id)
  redis.call('HSET', job, 'state', 'cancelled', 'error', ARGV[2], 'finished_at', now,
    'updated_at', now)
  redis.call('HINCRBY', KEYS[5], 'cancelled', 1)
  return 'cancelled'
end
if state == 'running' then
  audit('cancel_requested')
  redis.call('HSET', job, 'cancel_requested', '1', 'updated_at', now)
  return 'requested'
end
return state
