-- One Shopify shop's leaky bucket, shared by every Hookyard process (contract in
-- hookyard/shopify/budget.py). All maths runs here so that reserve and settle are atomic and use
-- one clock: the Redis server's (TIME), never a replica's.
--
-- KEYS[1]  the shop's budget hash (hookyard.keys.shopify_budget): available, capacity,
--          restore_rate, updated_ms, and one field "r:<reservation id>" = "<points>|<expires ms>"
--          per reservation still in flight (or waiting for its turn).
--
-- ARGV[1] = 'reserve'
--   ARGV[2] reservation id, ARGV[3] points, ARGV[4] default capacity, ARGV[5] default restore
--   rate (points/s), ARGV[6] reservation lease ms, ARGV[7] key ttl ms, ARGV[8] longest wait ms
--   the caller accepts (-1: any)
--   -> {wait_ms, available, taken}: when the bucket holds the points they are taken and wait_ms
--      is 0. When it is short and the wait is acceptable, the points are taken anyway (the
--      bucket goes into debt) and wait_ms is when the debt will have been restored: the caller
--      sleeps that long and then calls, without asking again. Callers are thereby served in the
--      order they asked (no starvation) and every call starts only once the bucket covers it.
--      When the wait is longer than acceptable nothing is taken (taken = 0).
--
-- ARGV[1] = 'settle'
--   ARGV[2] reservation id, ARGV[3] refund points, ARGV[4] default capacity, ARGV[5] default
--   restore rate, ARGV[6] has throttle status (0/1), ARGV[7] currentlyAvailable,
--   ARGV[8] maximumAvailable, ARGV[9] restoreRate, ARGV[10] drain (0/1), ARGV[11] key ttl ms
--   -> available (as a string)

local key = KEYS[1]
local op = ARGV[1]
local rid = 'r:' .. ARGV[2]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local h = redis.call('HMGET', key, 'available', 'capacity', 'restore_rate', 'updated_ms')
local capacity = tonumber(h[2]) or tonumber(ARGV[4])
local rate = tonumber(h[3]) or tonumber(ARGV[5])
local available = tonumber(h[1]) or capacity
local updated = tonumber(h[4]) or now
if now > updated then
  available = math.min(capacity, available + rate * (now - updated) / 1000)
end

-- Points of the other reservations still in flight; expired leases (their process died between
-- reserve and settle) are dropped: their points stay spent, which only errs on the safe side.
local function other_in_flight()
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local field = fields[i]
    if string.sub(field, 1, 2) == 'r:' and field ~= rid then
      local sep = string.find(fields[i + 1], '|', 1, true)
      local points = tonumber(string.sub(fields[i + 1], 1, sep - 1))
      local expires = tonumber(string.sub(fields[i + 1], sep + 1))
      if expires <= now then
        redis.call('HDEL', key, field)
      else
        total = total + points
      end
    end
  end
  return total
end

local function store(ttl_ms)
  redis.call('HSET', key, 'available', tostring(available), 'capacity', tostring(capacity),
    'restore_rate', tostring(rate), 'updated_ms', tostring(now))
  redis.call('PEXPIRE', key, ttl_ms)
end

if op == 'reserve' then
  local points = math.min(tonumber(ARGV[3]), capacity)
  local max_wait = tonumber(ARGV[8])
  other_in_flight()
  local wait = 0
  if available < points then
    wait = math.ceil((points - available) * 1000 / rate)
  end
  if max_wait >= 0 and wait > max_wait then
    store(tonumber(ARGV[7]))
    return {wait, tostring(available), 0}
  end
  available = available - points
  redis.call('HSET', key, rid,
    tostring(points) .. '|' .. tostring(now + wait + tonumber(ARGV[6])))
  store(tonumber(ARGV[7]))
  return {wait, tostring(available), 1}
end

if op == 'settle' then
  redis.call('HDEL', key, rid)
  if ARGV[6] == '1' then
    -- Shopify's word, minus what other processes have reserved (in flight or waiting for their
    -- turn) that it may not have seen yet, lowers our bucket but never raises it: answers
    -- settle out of order, so this one may predate calls that reached Shopify after it and have
    -- settled already (their points are in neither number). Raising the bucket on it would let
    -- the next callers spend those points twice; our own restore raises it soon enough.
    capacity = tonumber(ARGV[8])
    rate = tonumber(ARGV[9])
    available = math.min(available + tonumber(ARGV[3]), tonumber(ARGV[7]) - other_in_flight())
  else
    available = available + tonumber(ARGV[3])
  end
  if ARGV[10] == '1' and available > 0 then
    available = 0
  end
  available = math.min(capacity, available)
  store(tonumber(ARGV[11]))
  return tostring(available)
end

return redis.error_reply('unknown operation ' .. tostring(op))
