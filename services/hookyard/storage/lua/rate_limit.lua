-- A sliding-window rate limit: at most ARGV[1] admissions within the last ARGV[2] ms.
--
-- KEYS: the window's sorted set (member -> admission time in ms)
-- ARGV: limit, window_ms, member (unique per admission)
-- Returns {1, 0} when admitted (and recorded), {0, retry_after_ms} when over the limit.
-- The Redis server's clock (TIME) is the only clock, so replicas with skewed clocks agree.
local limit, window, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
