-- Accept one webhook delivery atomically: de-duplicate, write job records, enqueue messages.
--
-- KEYS[1]                 dedupe marker (state DB)
-- KEYS[2]                 index of all jobs (state DB)
-- per job i (6 keys, from KEYS[3 + 6*(i-1)]):
--   job hash, jobs-by-queue zset, jobs-by-shop zset, queued-state zset   (state DB)
--   broker queue list, broker messages hash                              (broker DB)
-- ARGV: state_db, broker_db, dedupe_ttl_seconds, now_ms, ids_json, then per job:
--   job_id, redis_message_id, message_data, record_json
-- Returns {1, ids_json} when accepted, {0, original_ids_json} for a duplicate delivery.
--
-- Nothing is written before the dedupe check, and Redis runs the script as one unit, so a
-- delivery is either fully accepted (marker, records, messages) or not at all.
local state_db, broker_db = ARGV[1], ARGV[2]
local ttl, now, ids_json = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = (#ARGV - 5) / 4

redis.call('SELECT', state_db)
local original = redis.call('GET', KEYS[1])
if original then
  return {0, original}
end

for i = 1, n do
  local k = 2 + 6 * (i - 1)
  local a = 5 + 4 * (i - 1)
  local job_id, record = ARGV[a + 1], cjson.decode(ARGV[a + 4])
  local fields = {}
  for field, value in pairs(record) do
    fields[#fields + 1] = field
    fields[#fields + 1] = value
  end
  redis.call('HSET', KEYS[k + 1], unpack(fields))
  redis.call('ZADD', KEYS[2], now, job_id)
  redis.call('ZADD', KEYS[k + 2], now, job_id)
  redis.call('ZADD', KEYS[k + 3], now, job_id)
  redis.call('ZADD', KEYS[k + 4], now, job_id)
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ids_json, 'EX', ttl)
end

redis.call('SELECT', broker_db)
for i = 1, n do
  local k = 2 + 6 * (i - 1)
  local a = 5 + 4 * (i - 1)
  redis.call('HSET', KEYS[k + 6], ARGV[a + 2], ARGV[a + 3])
  redis.call('RPUSH', KEYS[k + 5], ARGV[a + 2])
end
return {1, ids_json}
