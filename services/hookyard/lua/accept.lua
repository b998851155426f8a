-- Accept one webhook delivery atomically: de-duplicate, write job records, enqueue messages.
--
-- KEYS[1]                 dedupe marker (state DB)
-- KEYS[2]                 index of all jobs (state DB)
-- KEYS[3]                 acceptance sequence counter (state DB)
-- per job i (9 keys, from KEYS[4 + 9*(i-1)]):
--   job hash, jobs-by-queue zset, jobs-by-shop zset, queued-state zset,
--   entity hash (accepted versions), pending-batch zset                  (state DB)
--   broker queue list, broker messages hash, queue wake-up list          (broker DB)
-- ARGV: state_db, broker_db, dedupe_ttl_seconds, now_ms, ids_json, then per job:
--   job_id, redis_message_id, message_data, record_json, coalesce_fields_json
-- Returns {1, ids_json, seq} when accepted, {0, original_ids_json, 0} for a duplicate.
--
-- Nothing is written before the dedupe check, and Redis runs the script as one unit, so a
-- delivery is either fully accepted (marker, records, messages) or not at all. Every accepted
-- delivery gets the next sequence number: a later delivery of the same entity has a higher one,
-- which is how sync jobs know that a newer value exists (coalescing).
local state_db, broker_db = ARGV[1], ARGV[2]
local ttl, now, ids_json = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local per_job_args, per_job_keys = 5, 9
local WAKEUP_TOKENS = 64
local n = (#ARGV - 5) / per_job_args

redis.call('SELECT', state_db)
local original = redis.call('GET', KEYS[1])
if original then
  return {0, original, 0}
end
local seq = redis.call('INCR', KEYS[3])

for i = 1, n do
  local k = 3 + per_job_keys * (i - 1)
  local a = 5 + per_job_args * (i - 1)
  local job_id, record = ARGV[a + 1], cjson.decode(ARGV[a + 4])
  local fields = {'seq', seq}
  for field, value in pairs(record) do
    fields[#fields + 1] = field
    fields[#fields + 1] = value
  end
  redis.call('HSET', KEYS[k + 1], unpack(fields))
  redis.call('ZADD', KEYS[2], now, job_id)
  redis.call('ZADD', KEYS[k + 2], now, job_id)
  redis.call('ZADD', KEYS[k + 3], now, job_id)
  redis.call('ZADD', KEYS[k + 4], now, job_id)
  local coalesce = cjson.decode(ARGV[a + 5])
  if #coalesce > 0 then
    for _, field in ipairs(coalesce) do
      redis.call('HSET', KEYS[k + 5], 'accepted:' .. field, seq)
    end
    redis.call('ZADD', KEYS[k + 6], seq, job_id)
  end
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ids_json, 'EX', ttl)
end

redis.call('SELECT', broker_db)
for i = 1, n do
  local k = 3 + per_job_keys * (i - 1)
  local a = 5 + per_job_args * (i - 1)
  redis.call('HSET', KEYS[k + 8], ARGV[a + 2], ARGV[a + 3])
  redis.call('RPUSH', KEYS[k + 7], ARGV[a + 2])
  if redis.call('RPUSH', KEYS[k + 9], 1) > WAKEUP_TOKENS then
    redis.call('LTRIM', KEYS[k + 9], 0, WAKEUP_TOKENS - 1)
  end
end
return {1, ids_json, seq}
