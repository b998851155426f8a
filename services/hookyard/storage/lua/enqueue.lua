-- Enqueue a message of a tracked job, fenced: only the job's current message may be replaced.
--
-- KEYS: job hash (state DB), target list, target messages hash, target wake-up list (broker DB)
-- ARGV: state_db, broker_db, previous_redis_message_id ('' for none), redis_message_id,
--       message_data, the turn key's pattern (keys.shop_turn of '%s', '%s')
-- Returns 1 when enqueued, 0 when dropped: the job moved on (a newer message replaced the one
-- this copy came from, or the job already ended), so this copy would only run it twice.
-- Messages of jobs without a record (plain sends) are enqueued as Dramatiq would.
local state_db, broker_db = ARGV[1], ARGV[2]
local previous, rmid, data = ARGV[3], ARGV[4], ARGV[5]

redis.call('SELECT', state_db)
if redis.call('EXISTS', KEYS[1]) == 1 then
  local current = redis.call('HGET', KEYS[1], 'rmid')
  if previous ~= '' and current ~= previous then
    return 0
  end
  local state = redis.call('HGET', KEYS[1], 'state')
  if state == 'succeeded' or state == 'failed' or state == 'cancelled' or state == 'superseded' then
    return 0
  end
  redis.call('HSET', KEYS[1], 'rmid', rmid)
  -- The job's message was its shop's turn (hookyard/jobs/turns.py): the turn moves with it.
  local shop, kind = unpack(redis.call('HMGET', KEYS[1], 'shop', 'batch_kind'))
  if kind and kind ~= '' and ARGV[6] then
    local turn = string.format(ARGV[6], shop, kind)
    if previous ~= '' and redis.call('HGET', turn, 'rmid') == previous then
      redis.call('HSET', turn, 'rmid', rmid)
    end
  end
end

redis.call('SELECT', broker_db)
redis.call('HSET', KEYS[3], rmid, data)
redis.call('RPUSH', KEYS[2], rmid)
if redis.call('RPUSH', KEYS[4], 1) > 64 then
  redis.call('LTRIM', KEYS[4], 0, 63)
end
return 1
