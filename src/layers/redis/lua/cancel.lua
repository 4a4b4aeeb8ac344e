-- Cancels a PENDING or PROCESSING task; the worker holding its claim, in whichever process, is told through `P lost`.
-- Own args: id, reason as JSON text. Answers `[evicted, "ok", record]`, `[evicted, "finished", status]`,
-- `[evicted, "gone", tombstone]` or `[evicted, "unknown"]`.
local id, reason = ARGV[6], ARGV[7]
evictDue()
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "weight", "kind", "createdAt")
if not cur[1] then
  local done = redis.call("GET", fin(id))
  if done then return { evicted, "finished", statusOf(done) } end
  local stone = redis.call("HGET", P .. "tomb", id)
  if stone then return { evicted, "gone", stone } end
  return { evicted, "unknown" }
end
local status = unquote(cur[1])
if status == "PENDING" then
  dequeue(id, unquote(cur[4]))
  redis.call("HSET", r, "completedSegments", "[]", "errors", "[]")
else
  redis.call("ZREM", P .. "claims", id)
  redis.call("PUBLISH", P .. "lost", unquote(cur[2]))
end
redis.call("HSET", r, "completedAt", ARGV[1], "reason", reason)
redis.call("HINCRBY", r, "version", 1)
local json = toFinished(id, "CANCELLED")
finished(id, tonumber(cur[3]), ARGV[1])
relist(id, status, "CANCELLED", cur[5])
changed(id, json)
enforceCap()
trimTombstones()
return { evicted, "ok", json }
