-- Record how a run ended. Only the job's current message may write its outcome.
--
-- KEYS: job hash, running zset, target-state zset, totals hash,
--       [retry only] broker delay list, broker delay messages hash
-- ARGV: redis_message_id, now_ms, state, fields_json, state_db, broker_db,
--       [retry only] new_redis_message_id, message_data
-- For state 'retrying' the delayed message is enqueued in the same step, so a retry can
-- never be recorded without its message (or the reverse).
-- Returns 1 when recorded, 0 when this run was stale (the job moved on meanwhile).
local rmid, now, state = ARGV[1], ARGV[2], ARGV[3]
local job = KEYS[1]
redis.call('SELECT', ARGV[5])
local current, id = unpack(redis.call('HMGET', job, 'rmid', 'id'))
if current ~= rmid or not id then
  return 0
end
local fields = {'state', state, 'updated_at', now}
for field, value in pairs(cjson.decode(ARGV[4])) do
  fields[#fields + 1] = field
  fields[#fields + 1] = value
end
if state ~= 'retrying' then
  fields[#fields + 1] = 'finished_at'
  fields[#fields + 1] = now
end
redis.call('HDEL', job, 'cancel_requested')
redis.call('HSET', job, unpack(fields))
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[3], now, id)
redis.call('HINCRBY', KEYS[4], state, 1)
if state == 'retrying' then
  redis.call('HSET', job, 'rmid', ARGV[7])
  redis.call('SELECT', ARGV[6])
  redis.call('HSET', KEYS[6], ARGV[7], ARGV[8])
  redis.call('RPUSH', KEYS[5], ARGV[7])
end
return 1
