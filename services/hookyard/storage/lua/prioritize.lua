-- Move a waiting message to the head of its queue (Dramatiq fetches with LPOP), so it runs
-- before the messages already waiting. A message a worker already fetched is left alone.
--
-- KEYS: broker queue list (broker DB). ARGV: redis_message_id.
-- Returns 1 when moved, 0 when the message was not waiting.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0
