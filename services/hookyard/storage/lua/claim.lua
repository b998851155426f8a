-- Claim waiting jobs into a batch run by another job of the same shop.
--
-- KEYS: pending-batch zset, queued zset, retrying zset, running zset, the shop's turn hash,
--       then one job hash per id
-- ARGV: batch_rmid, now_ms, then the job ids (same order as their keys)
-- Every given id leaves the pending set. A job still queued or retrying becomes running under
-- the batch's message id: its own message turns stale (it will be skipped when delivered), and
-- if the batch's worker dies, the sweeper finds the job running with no message and re-enqueues
-- it. A job that is *running* but waiting for the batch lock (``awaiting_batch`` names its
-- current message) is claimed too, without a new attempt: its waiting worker sees its message id
-- replaced and returns without writing. A claimed job whose message was the shop's turn hands
-- the turn to the batch (its message turns stale): the batch passes it on when it ends.
-- Returns the ids claimed.
local rmid, now = ARGV[1], ARGV[2]
local claimed = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local job = KEYS[5 + (i - 2)]
  redis.call('ZREM', KEYS[1], id)
  local state = redis.call('HGET', job, 'state')
  if state == 'queued' or state == 'retrying' then
    if redis.call('HGET', KEYS[5], 'rmid') == redis.call('HGET', job, 'rmid') then
      redis.call('HSET', KEYS[5], 'rmid', rmid)
    end
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZADD', KEYS[4], now, id)
    redis.call('HINCRBY', job, 'attempts', 1)
    redis.call('HSET', job, 'state', 'running', 'rmid', rmid, 'updated_at', now)
    if redis.call('HEXISTS', job, 'started_at') == 0 then
      redis.call('HSET', job, 'started_at', now)
    end
    claimed[#claimed + 1] = id
  elseif state == 'running' then
    local current, awaiting = unpack(redis.call('HMGET', job, 'rmid', 'awaiting_batch'))
    if awaiting and awaiting == current then
      redis.call('HDEL', job, 'awaiting_batch')
      redis.call('HSET', job, 'rmid', rmid, 'updated_at', now)
      claimed[#claimed + 1] = id
    end
  end
end
return claimed
