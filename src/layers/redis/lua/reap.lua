-- Takes back claims whose lease has run out: the task goes back to PENDING while it has attempts left, else it ends
-- FAILED. The worker that held the claim, if it is still alive, is told through `P lost`.
-- Own args: max attempts, the failure message as JSON text, at most how many. Answers `[evicted, requeued, failed]`.
local maxAttempts, message, limit = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local due = redis.call("ZRANGEBYSCORE", P .. "claims", "-inf", "(" .. ARGV[1], "LIMIT", 0, limit)
local requeued, failed = 0, 0
for _, id in ipairs(due) do
  local r = rec(id)
  local cur = redis.call("HMGET", r, "claim", "attempts", "weight", "kind", "createdAt")
  redis.call("ZREM", P .. "claims", id)
  redis.call("PUBLISH", P .. "lost", unquote(cur[1]))
  redis.call("HINCRBY", r, "version", 1)
  if tonumber(cur[2]) < maxAttempts then
    redis.call("HDEL", r, "claim", "startedAt", "completedSegments", "errors")
    redis.call("HSET", r, "_tag", '"PENDING"')
    relist(id, "PROCESSING", "PENDING", cur[5])
    enqueue(id, unquote(cur[4]))
    changed(id, nil, true)
    requeued = requeued + 1
  else
    redis.call("HSET", r, "completedAt", ARGV[1], "error", message)
    local json = toFinished(id, "FAILED")
    finished(id, tonumber(cur[3]), ARGV[1])
    relist(id, "PROCESSING", "FAILED", cur[5])
    changed(id, json)
    failed = failed + 1
  end
end
enforceCap()
trimTombstones()
return { evicted, requeued, failed }
