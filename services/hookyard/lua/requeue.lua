-- Put a job back on its queue with a fresh message: the sweeper's recovery and operator replay.
--
-- KEYS: job hash, queued zset, source-state zsets... (any the job may be in; the last three
--       are the broker queue list, messages hash and wake-up list)
-- ARGV: state_db, broker_db, expected_rmid ('*' = any), expected_states (comma list),
--       new_rmid, message_data, now_ms, reset_attempts ('1' or '0')
-- Returns 1 when requeued, 0 when the job is not in the expected state/message any more.
local state_db, broker_db = ARGV[1], ARGV[2]
local expected_rmid, expected_states = ARGV[3], ARGV[4]
local rmid, data, now, reset = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local job = KEYS[1]
redis.call('SELECT', state_db)
local state, current, id = unpack(redis.call('HMGET', job, 'state', 'rmid', 'id'))
if not id then
  return 0
end
if expected_rmid ~= '*' and current ~= expected_rmid then
  return 0
end
if not string.find(',' .. expected_states .. ',', ',' .. state .. ',', 1, true) then
  return 0
end
for i = 3, #KEYS - 3 do
  redis.call('ZREM', KEYS[i], id)
end
redis.call('ZADD', KEYS[2], now, id)
redis.call('HSET', job, 'state', 'queued', 'rmid', rmid, 'updated_at', now)
redis.call('HDEL', job, 'finished_at', 'cancel_requested')
if reset == '1' then
  redis.call('HSET', job, 'attempts', 0)
end
redis.call('SELECT', broker_db)
redis.call('HSET', KEYS[#KEYS - 1], rmid, data)
redis.call('RPUSH', KEYS[#KEYS - 2], rmid)
if redis.call('RPUSH', KEYS[#KEYS], 1) > 64 then
  redis.call('LTRIM', KEYS[#KEYS], 0, 63)
end
return 1
