-- Takes back claims whose lease ran out on Redis's clock, a grace period ago: the task goes back to PENDING, with no
-- segments, while it has attempts left, else it ends FAILED. The worker that held the claim, if it is still alive,
-- is told through `P lost`.
-- Own args: grace in milliseconds, max attempts, the failure message as JSON text, at most how many.
-- Answers `[evicted, requeued, failed]` or `["nopolicy"]`.
local grace, maxAttempts, message, limit = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
if not usePolicy() then return NO_POLICY end
local due = redis.call("ZRANGEBYSCORE", P .. "claims", "-inf", "(" .. (redisNow() - grace), "LIMIT", 0, limit)
local requeued, failed = 0, 0
for _, id in ipairs(due) do
  local r = rec(id)
  local cur = redis.call("HMGET", r, "claim", "attempts", "weight", ".k", "createdAt", "version")
  local token = string.sub(cur[1], 2, -2)
  unclaim(id, token)
  redis.call("PUBLISH", P .. "lost", token)
  if tonumber(cur[2]) < maxAttempts then
    local version = tonumber(cur[6]) + 1
    redis.call("HDEL", r, "claim", "startedAt", "completedSegments", "errors")
    redis.call("HSET", r, "_tag", '"PENDING"', "version", version, ".n", 0, ".e", 0)
    relist(id, "PROCESSING", "PENDING", cur[5])
    enqueue(id, cur[4])
    notify("W", id, version, '{"attempts":' .. cur[2] .. ',"kind":"' .. cur[4] .. '"}')
    requeued = requeued + 1
  else
    finish(id, "FAILED", now, '"error":' .. message, tonumber(cur[3]))
    failed = failed + 1
  end
end
enforceCap()
trimTombstones()
return { evicted, requeued, failed }
