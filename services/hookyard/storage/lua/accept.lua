-- Accept one webhook delivery atomically: de-duplicate, write job records, enqueue messages.
--
-- Every job of one delivery shares its queue, actor, shop and sync kind (JobStore.submit checks
-- that), so the indexes, the entity hash, the pending batch and the broker are each written
-- with one command for the whole delivery; only the job hashes are written one by one. That is
-- n + 12 commands for n jobs instead of 11 per job: the script is the one piece of ingest's
-- work that runs on the Redis every pod and worker shares.
--
-- KEYS[1]  dedupe marker             KEYS[2]  index of all jobs       KEYS[3]  acceptance seq
-- KEYS[4]  jobs-by-queue zset        KEYS[5]  jobs-by-shop zset       KEYS[6]  queued-state zset
-- KEYS[7]  entity hash (accepted versions)                            KEYS[8]  pending-batch zset
--          (all of the above in the state DB)
-- KEYS[9]  broker queue list         KEYS[10] broker messages hash    KEYS[11] queue wake-up list
--          (for a delayed delivery, KEYS[9] and KEYS[10] are the delay queue and its messages)
--          (broker DB)
-- KEYS[12] the shop's turn hash for the delivery's sync kind (state DB; unused without one)
-- KEYS[13 .. 12 + n]  the job hashes (state DB)
-- KEYS[13 + n]  (audited only) the audit stream (state DB)
-- ARGV: state_db, broker_db, dedupe_ttl_seconds, now_ms, ids_json, job_count, turn_ttl_ms
--   (0: every job gets its message, as without turns),
--   common_count, common_field_1, common_value_1, ... (record fields every job shares),
--   then per job: job_id, redis_message_id, message_data,
--     field_count, field_1, value_1, ... (the job's own record fields besides id and rmid,
--     which the script writes from job_id and redis_message_id),
--     coalesce_count, coalesce_field_1, ...,
--   then, audited only, the audit tail of hookyard/audit.py ``script_args``:
--     who, action, request_id, max_entries, oldest_kept_id, retention_ms
-- Returns {1, ids_json, seq} when accepted, {0, original_ids_json, 0} for a duplicate.
-- (Fields travel as plain pairs rather than one JSON document: no encode/decode per job on
-- either side.)
--
-- Nothing is written before the dedupe check, and Redis runs the script as one unit, so a
-- delivery is either fully accepted (marker, records, messages) or not at all. Every accepted
-- delivery gets the next sequence number: a later delivery of the same entity has a higher one,
-- which is how sync jobs know that a newer value exists (coalescing).
--
-- Audited (a deploy), the delivery's audit entry (outcome 'requested', the first job's id and
-- the shop) is the script's first write, so the job and its entry exist together or not at all:
-- a refused append (OOM, a broken stream) stops the script before anything else is written.
local state_db, broker_db = ARGV[1], ARGV[2]
-- now and seq go into commands as strings: Lua would format a number anew (printf) each time
-- it is passed, some 60 times per 10-job delivery.
local ttl, now, ids_json = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local n = tonumber(ARGV[6])
local turn_ttl = tonumber(ARGV[7])
local TURN_KEY = 12
local FIRST_JOB_KEY = 13
local WAKEUP_TOKENS = 64
-- Arguments per command stay far below Lua's stack limit (LUAI_MAXCSTACK, 8000).
local ARGS_PER_CALL = 1000

-- redis.call(command, key, args...) in slices of ARGS_PER_CALL arguments; step keeps pairs whole.
local function call_in_slices(command, key, args, step)
  local per_call = ARGS_PER_CALL - (ARGS_PER_CALL % step)
  for first = 1, #args, per_call do
    redis.call(command, key, unpack(args, first, math.min(first + per_call - 1, #args)))
  end
end

redis.call('SELECT', state_db)
local original = redis.call('GET', KEYS[1])
if original then
  return {0, original, 0}
end
local common_count = tonumber(ARGV[8])
local audit_stream = KEYS[FIRST_JOB_KEY + n]
if audit_stream then
  local t = #ARGV - 5
  local shop = ''
  for c = 9, 8 + 2 * common_count, 2 do
    if ARGV[c] == 'shop' then
      shop = ARGV[c + 1]
    end
  end
  redis.call('XADD', audit_stream, 'MAXLEN', ARGV[t + 3], '*', 'who', ARGV[t],
    'action', ARGV[t + 1], 'job_id', ARGV[9 + 2 * common_count], 'outcome', 'requested',
    'error', '', 'shop', shop, 'request_id', ARGV[t + 2])
  redis.call('XTRIM', audit_stream, 'MINID', ARGV[t + 4])
  redis.call('PEXPIRE', audit_stream, ARGV[t + 5])
end
local seq = redis.call('INCR', KEYS[3])
local seq_text = tostring(seq)

local a = 9 + 2 * common_count
local by_time, pending, accepted_fields, messages, rmids, tokens = {}, {}, {}, {}, {}, {}
-- Turns (hookyard/sync/turns.py): a pending job's message goes out only when it takes its
-- shop's turn (no turn yet); the others ride on the turn and are claimed by its batch.
local turn_taken = false
for i = 1, n do
  local job_id, rmid, data = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local field_count = tonumber(ARGV[a + 3])
  local record = {'seq', seq_text, 'id', job_id, 'rmid', rmid}
  for c = 9, 8 + 2 * common_count do
    record[#record + 1] = ARGV[c]
  end
  local last = a + 3 + 2 * field_count
  for c = a + 4, last do
    record[#record + 1] = ARGV[c]
  end
  redis.call('HSET', KEYS[FIRST_JOB_KEY + i - 1], unpack(record))
  by_time[#by_time + 1] = now
  by_time[#by_time + 1] = job_id
  local coalesce_count = tonumber(ARGV[last + 1])
  for c = last + 2, last + 1 + coalesce_count do
    accepted_fields[#accepted_fields + 1] = 'accepted:' .. ARGV[c]
    accepted_fields[#accepted_fields + 1] = seq_text
  end
  local rides = false
  if coalesce_count > 0 then
    pending[#pending + 1] = seq_text
    pending[#pending + 1] = job_id
    if turn_ttl > 0 then
      if turn_taken or redis.call('HSETNX', KEYS[TURN_KEY], 'rmid', rmid) == 0 then
        rides = true
      else
        turn_taken = true
        redis.call('PEXPIRE', KEYS[TURN_KEY], turn_ttl)
      end
    end
  end
  if not rides then
    messages[#messages + 1] = rmid
    messages[#messages + 1] = data
    rmids[#rmids + 1] = rmid
    if #rmids <= WAKEUP_TOKENS then
      tokens[#tokens + 1] = 1
    end
  end
  a = last + 2 + coalesce_count
end
call_in_slices('ZADD', KEYS[2], by_time, 2)
call_in_slices('ZADD', KEYS[4], by_time, 2)
call_in_slices('ZADD', KEYS[5], by_time, 2)
call_in_slices('ZADD', KEYS[6], by_time, 2)
call_in_slices('HSET', KEYS[7], accepted_fields, 2)
call_in_slices('ZADD', KEYS[8], pending, 2)
if ttl > 0 then
  redis.call('SET', KEYS[1], ids_json, 'EX', ttl)
end

redis.call('SELECT', broker_db)
call_in_slices('HSET', KEYS[10], messages, 2)
call_in_slices('RPUSH', KEYS[9], rmids, 1)
if #tokens > 0 and redis.call('RPUSH', KEYS[11], unpack(tokens)) > WAKEUP_TOKENS then
  redis.call('LTRIM', KEYS[11], 0, WAKEUP_TOKENS - 1)
end
return {1, ids_json, seq}
