-- One Shopify shop's circuit breaker, shared by every Hookyard process (contract in
-- hookyard/shopify/breaker.py). Every transition happens here, atomically, on one clock: the
-- Redis server's (TIME), so replicas with skewed clocks agree on when a probe is due and on when
-- a state began.
--
-- KEYS[1]  the shop's breaker hash (hookyard.keys.shopify_breaker): state (closed, open,
--          half_open; a missing hash is closed), since_ms (when that state began), failures
--          (consecutive failed calls), failed_probes (probes failed in a row since it opened),
--          next_probe_ms (open: when a probe may go), probe + probe_until_ms (half_open: the
--          lease token of the one probe call out, and when that lease lapses).
--
-- ARGV[1] = 'admit'   ARGV[2] lease token for a probe, ARGV[3] probe lease ms
--   -> {verdict, wait_ms, moved_to}: verdict 'call' (closed), 'probe' (this caller is the one
--      probe; its lease is ARGV[2]) or 'denied' (wait_ms until a probe may go: the open
--      interval's end, or, while a probe is out, at most a second); moved_to is the state
--      entered, or ''.
--
-- ARGV[1] = 'record'  ARGV[2] outcome (answered, failed, throttled), ARGV[3] the probe's lease
--   token ('' for a call that was not the probe), ARGV[4] failures that open the breaker,
--   ARGV[5..] probe delays in ms: the wait after the breaker opens, after 1, 2, ... failed
--   probes (the last one serves every later failed probe)
--   -> {state, moved_to}
--
-- ARGV[1] = 'release' ARGV[2] the probe's lease token: the probe ends without having learnt
--   anything of Shopify (our own budget gave up before the call); the next caller may probe.
--   -> state

local key = KEYS[1]
local op = ARGV[1]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local h = redis.call('HMGET', key, 'state', 'since_ms', 'failures', 'failed_probes',
  'next_probe_ms', 'probe', 'probe_until_ms')
local state = h[1] or 'closed'
local since = h[2]
local failures = tonumber(h[3]) or 0
local failed_probes = tonumber(h[4]) or 0
local next_probe = tonumber(h[5]) or 0
local probe = h[6] or ''
local probe_until = tonumber(h[7]) or 0

-- Open the breaker after `failed` probes failed in a row (0: it opens from closed).
local function open(failed)
  local delays = #ARGV - 4
  local delay = tonumber(ARGV[5 + math.min(failed, delays - 1)])
  redis.call('HSET', key, 'state', 'open', 'since_ms', now, 'failures', failures,
    'failed_probes', failed, 'next_probe_ms', now + delay)
  redis.call('HDEL', key, 'probe', 'probe_until_ms')
  return {'open', 'open'}
end

if op == 'admit' then
  if state == 'closed' then
    if not since then
      -- The first call Hookyard makes to this shop: from now on the state has a beginning.
      redis.call('HSET', key, 'state', 'closed', 'since_ms', now)
    end
    return {'call', 0, ''}
  end
  if state == 'open' and now < next_probe then
    return {'denied', next_probe - now, ''}
  end
  if state == 'half_open' and probe ~= '' and now < probe_until then
    -- A probe is out: it usually answers within a second, so callers look again after at most
    -- a second rather than at its lease's end (which only bounds a probe whose worker died).
    return {'denied', math.min(probe_until - now, 1000), ''}
  end
  -- The probe is due (open), or the last probe's lease lapsed (its worker died) or was given
  -- back: this caller is the one probe, until it reports or its lease lapses.
  local moved = ''
  if state == 'open' then
    redis.call('HSET', key, 'state', 'half_open', 'since_ms', now)
    moved = 'half_open'
  end
  redis.call('HSET', key, 'probe', ARGV[2], 'probe_until_ms', now + tonumber(ARGV[3]))
  return {'probe', 0, moved}
end

if op == 'record' then
  local outcome = ARGV[2]
  if state == 'closed' then
    if outcome == 'answered' and failures > 0 then
      redis.call('HSET', key, 'failures', 0)
    elseif outcome == 'failed' then
      failures = failures + 1
      if failures >= tonumber(ARGV[4]) then
        return open(0)
      end
      redis.call('HSET', key, 'failures', failures)
      if not since then
        redis.call('HSET', key, 'state', 'closed', 'since_ms', now)
      end
    end
    return {state, ''}
  end
  -- Open or half open: only the probe decides. Other calls started before the breaker opened;
  -- what they learnt is older than the failures that opened it.
  if state ~= 'half_open' or ARGV[3] == '' or ARGV[3] ~= probe then
    return {state, ''}
  end
  if outcome == 'failed' then
    failures = failures + 1
    return open(failed_probes + 1)
  end
  -- Shopify answered the probe (data, a rejection, or a throttle): it is up.
  redis.call('HSET', key, 'state', 'closed', 'since_ms', now, 'failures', 0, 'failed_probes', 0)
  redis.call('HDEL', key, 'next_probe_ms', 'probe', 'probe_until_ms')
  return {'closed', 'closed'}
end

if op == 'release' then
  if state == 'half_open' and probe ~= '' and probe == ARGV[2] then
    redis.call('HDEL', key, 'probe', 'probe_until_ms')
  end
  return state
end

return redis.error_reply('unknown operation ' .. tostring(op))
