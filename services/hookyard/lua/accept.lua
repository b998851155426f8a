-- Accept one webhook delivery atomically: de-duplicate, write job records, enqueue messages.
--
-- KEYS[1]                 dedupe marker (state DB)
-- KEYS[2]                 index of all jobs (state DB)
-- KEYS[3]                 acceptance sequence counter (state DB)
-- per job i (9 keys, from KEYS[4 + 9*(i-1)]):
--   job hash, jobs-by-queue zset, jobs-by-shop zset, queued-state zset,
--   entity hash (accepted versions), pending-batch zset                  (state DB)
--   broker queue list, broker messages hash, queue wake-up list          (broker DB)
-- ARGV: state_db, broker_db, dedupe_ttl_seconds, now_ms, ids_json, job_count, then per job:
--   job_id, redis_message_id, message_data,
--   field_count, field_1, value_1, ... (the record's hash fields, as they are stored),
--   coalesce_count, coalesce_field_1, ...
-- Returns {1, ids_json, seq} when accepted, {0, original_ids_json, 0} for a duplicate.
-- (Fields travel as plain pairs rather than one JSON document: no encode/decode per job on
-- either side, which measurably cut the script's CPU per webhook.)
--
-- Nothing is written before the dedupe check, and Redis runs the script as one unit, so a
-- delivery is either fully accepted (marker, records, messages) or not at all. Every accepted
-- delivery gets the next sequence number: a later delivery of the same entity has a higher one,
-- which is how sync jobs know that a newer value exists (coalescing).
local state_db, broker_db = ARGV[1], ARGV[2]
local ttl, now, ids_json = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = tonumber(ARGV[6])
local per_job_keys = 9
local WAKEUP_TOKENS = 64

redis.call('SELECT', state_db)
local original = redis.call('GET', KEYS[1])
if original then
  return {0, original, 0}
end
local seq = redis.call('INCR', KEYS[3])

local messages = {}
local a = 7
for i = 1, n do
  local k = 3 + per_job_keys * (i - 1)
  local job_id, rmid, data = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  messages[i] = {rmid, data}
  local field_count = tonumber(ARGV[a + 3])
  local first, last = a + 4, a + 3 + 2 * field_count
  redis.call('HSET', KEYS[k + 1], 'seq', seq, unpack(ARGV, first, last))
  redis.call('ZADD', KEYS[2], now, job_id)
  redis.call('ZADD', KEYS[k + 2], now, job_id)
  redis.call('ZADD', KEYS[k + 3], now, job_id)
  redis.call('ZADD', KEYS[k + 4], now, job_id)
  local coalesce_count = tonumber(ARGV[last + 1])
  for c = last + 2, last + 1 + coalesce_count do
    redis.call('HSET', KEYS[k + 5], 'accepted:' .. ARGV[c], seq)
  end
  if coalesce_count > 0 then
    redis.call('ZADD', KEYS[k + 6], seq, job_id)
  end
  a = last + 2 + coalesce_count
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ids_json, 'EX', ttl)
end

redis.call('SELECT', broker_db)
for i = 1, n do
  local k = 3 + per_job_keys * (i - 1)
  redis.call('HSET', KEYS[k + 8], messages[i][1], messages[i][2])
  redis.call('RPUSH', KEYS[k + 7], messages[i][1])
  if redis.call('RPUSH', KEYS[k + 9], 1) > WAKEUP_TOKENS then
    redis.call('LTRIM', KEYS[k + 9], 0, WAKEUP_TOKENS - 1)
  end
end
return {1, ids_json, seq}
