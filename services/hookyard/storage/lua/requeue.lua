-- Put a job back on its queue with a fresh message: the sweeper's recovery and operator replay.
--
-- KEYS: job hash, queued zset, source-state zsets... (any the job may be in), broker queue
--       list, messages hash, wake-up list, [audited] audit stream
-- ARGV: state_db, broker_db, expected_rmid ('*' = any), expected_states (comma list),
--       new_rmid, message_data, now_ms, reset_attempts ('1' or '0'), the turn key's pattern
--       (keys.shop_turn of '%s', '%s': a job whose message was its shop's turn keeps it),
--       [audited] who, action, request_id, max_entries, oldest_kept_id, retention_ms
-- Audited (an operator replay), the requeue appends its audit entry, outcome 'replayed', in the
-- same step (fields as in hookyard/audit.py), so neither can exist without the other; a
-- refused one writes nothing and the caller records the refusal.
-- Returns 1 when requeued, 0 when the job is not in the expected state/message any more.
local state_db, broker_db = ARGV[1], ARGV[2]
local expected_rmid, expected_states = ARGV[3], ARGV[4]
local rmid, data, now, reset = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local audited = ARGV[10] ~= nil
local last = audited and #KEYS - 1 or #KEYS
local job = KEYS[1]
redis.call('SELECT', state_db)
local state, current, id, shop = unpack(redis.call('HMGET', job, 'state', 'rmid', 'id', 'shop'))
if not id then
  return 0
end
if expected_rmid ~= '*' and current ~= expected_rmid then
  return 0
end
if not string.find(',' .. expected_states .. ',', ',' .. state .. ',', 1, true) then
  return 0
end
if audited then
  local stream = KEYS[#KEYS]
  redis.call('XADD', stream, 'MAXLEN', ARGV[13], '*', 'who', ARGV[10], 'action', ARGV[11],
    'job_id', id, 'outcome', 'replayed', 'error', '', 'shop', shop or '', 'request_id', ARGV[12])
  redis.call('XTRIM', stream, 'MINID', ARGV[14])
  redis.call('PEXPIRE', stream, ARGV[15])
end
for i = 3, last - 3 do
  redis.call('ZREM', KEYS[i], id)
end
redis.call('ZADD', KEYS[2], now, id)
local turn_kind = redis.call('HGET', job, 'batch_kind')
if turn_kind and turn_kind ~= '' then
  local turn = string.format(ARGV[9], shop or '', turn_kind)
  if current and redis.call('HGET', turn, 'rmid') == current then
    redis.call('HSET', turn, 'rmid', rmid)
  end
end
redis.call('HSET', job, 'state', 'queued', 'rmid', rmid, 'updated_at', now)
redis.call('HDEL', job, 'finished_at', 'cancel_requested')
if reset == '1' then
  redis.call('HSET', job, 'attempts', 0)
end
redis.call('SELECT', broker_db)
redis.call('HSET', KEYS[last - 1], rmid, data)
redis.call('RPUSH', KEYS[last - 2], rmid)
if redis.call('RPUSH', KEYS[last], 1) > 64 then
  redis.call('LTRIM', KEYS[last], 0, 63)
end
return 1
