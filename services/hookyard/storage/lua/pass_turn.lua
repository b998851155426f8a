-- Pass a shop's turn (hookyard/jobs/turns.py) to its oldest queued pending job, or end it.
--
-- KEYS: 1 the shop's turn hash, 2 its pending-batch zset, 3 the next job's hash (state DB);
--       4 the queue list, 5 its messages hash, 6 its wake-up list (broker DB)
-- ARGV: 1 state_db, 2 broker_db, 3 and 4 the turn holders that may pass it ('' for none: the
--       holder's message id and its batch's), 5 the next job's id ('' when no pending job is
--       queued), 6 its new message id, 7 the message, 8 the turn's TTL in ms, 9 the shop's
--       weight (turns in a row at the queue's head), 10 now_ms
-- Returns 'head' or 'tail' (passed: where the message went), 'idle' (no queued pending job:
-- the turn ends, the next delivery takes a new one), 'not_holder' (someone else holds the
-- turn), or 'moved' (the next job changed meanwhile: pick again).
--
-- Atomic with acceptance (accept.lua takes a turn only when none exists), so a delivery
-- accepted while the turn is being passed either rides on the passed turn or takes a new one:
-- a pending job is never left without a turn.
local turn = KEYS[1]
redis.call('SELECT', ARGV[1])
local current = redis.call('HGET', turn, 'rmid')
if current and current ~= ARGV[3] and current ~= ARGV[4] then
  return 'not_holder'
end
local next_id = ARGV[5]
if next_id == '' then
  redis.call('DEL', turn)
  return 'idle'
end
if not redis.call('ZSCORE', KEYS[2], next_id) or redis.call('HGET', KEYS[3], 'state') ~= 'queued' then
  return 'moved'
end
local rmid = ARGV[6]
redis.call('HSET', KEYS[3], 'rmid', rmid, 'updated_at', ARGV[10])
local streak = redis.call('HINCRBY', turn, 'streak', 1)
local head = streak < tonumber(ARGV[9])
if not head then
  redis.call('HSET', turn, 'streak', 0)
end
redis.call('HSET', turn, 'rmid', rmid)
redis.call('PEXPIRE', turn, ARGV[8])
redis.call('SELECT', ARGV[2])
redis.call('HSET', KEYS[5], rmid, ARGV[7])
if head then
  redis.call('LPUSH', KEYS[4], rmid)
else
  redis.call('RPUSH', KEYS[4], rmid)
end
if redis.call('RPUSH', KEYS[6], 1) > 64 then
  redis.call('LTRIM', KEYS[6], 0, 63)
end
return head and 'head' or 'tail'
