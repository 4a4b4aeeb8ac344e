-- Replaces a PROCESSING record with its next state, computed by the domain, if the claim is still current and the
-- record is the version the worker last wrote. The next state may be PROCESSING (a report), PENDING (handed back
-- at shutdown) or finished (the run ended).
-- Own args: id, token, expected version, next status, next completedAt (or ""), the next state's JSON (status first
-- when finished), then, for an active state, its field/value pairs.
-- Answers `[evicted, "ok" | "lost" | "stale"]`.
local id, token, expected, status, completedAt = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "version", "weight", "kind", "createdAt")
if cur[1] ~= '"PROCESSING"' or cur[2] ~= quote(token) then return { 0, "lost" } end
if cur[3] ~= expected then return { 0, "stale" } end
if status == "PROCESSING" then
  -- A report: the same fields, new values.
  hset(r, 12)
  changed(id, ARGV[11])
  return { 0, "ok" }
end
redis.call("DEL", r)
redis.call("ZREM", P .. "claims", id)
relist(id, "PROCESSING", status, cur[6])
if status == "PENDING" then
  hset(r, 12)
  enqueue(id, unquote(cur[5]))
  changed(id, ARGV[11], true)
  return { evicted, "ok" }
end
redis.call("SET", fin(id), ARGV[11])
finished(id, tonumber(cur[4]), completedAt)
changed(id, ARGV[11])
enforceCap()
trimTombstones()
return { evicted, "ok" }
