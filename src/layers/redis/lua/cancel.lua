-- Cancels a PENDING or PROCESSING task; the worker holding its claim, in whichever process, is told through `P lost`.
-- Own args: id, reason as JSON text. Answers `[evicted, "ok", record]`, `[evicted, "finished", status]`,
-- `[evicted, "gone", tombstone]`, `[evicted, "unknown"]` or `["nopolicy"]`.
local id, reason = ARGV[3], ARGV[4]
if not string.match(reason, '^".*"$') then return redis.error_reply("cancel.lua: the reason is not JSON text") end
if not usePolicy() then return NO_POLICY end
evictDue()
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "weight", ".k")
if not cur[1] then
  local done = redis.call("GET", fin(id))
  if done then return { evicted, "finished", statusOf(done) } end
  local stone = redis.call("HGET", P .. "tomb", id)
  if stone then return { evicted, "gone", stone } end
  return { evicted, "unknown" }
end
if cur[1] == '"PENDING"' then
  redis.call("ZREM", P .. "q:" .. cur[4], id)
  redis.call("HINCRBY", P .. "meta", "pending", -1)
else
  local token = string.sub(cur[2], 2, -2)
  unclaim(id, token)
  redis.call("PUBLISH", P .. "lost", token)
end
local json = finish(id, "CANCELLED", now, '"reason":' .. reason, tonumber(cur[3]))
enforceCap()
trimTombstones()
return { evicted, "ok", json }
