-- Records how a claimed run ended, if the claim is still current: "ok" completes the task (FAILED when it had units
-- and every one failed), "fail" fails it with the text as its error, "cancel" cancels it with the text as its reason,
-- "release" hands it back to PENDING for another worker, with no segments and its attempt returned (its process is
-- shutting down). A finish retried after it was made finds the claim no longer current, and changes nothing.
-- Own args: id, token, outcome, text as JSON text (or ""). Answers `[evicted, "ok"]`, `[0, "lost"]` or
-- `["nopolicy"]`.
local id, token, outcome, text = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "total", ".e", "weight", "attempts", "createdAt", ".k", "version")
if cur[1] ~= '"PROCESSING"' or cur[2] ~= quote(token) then return { 0, "lost" } end
if not (outcome == "ok" or outcome == "release" or ((outcome == "fail" or outcome == "cancel")
    and string.match(text, '^".*"$'))) then
  return redis.error_reply("finish.lua: bad arguments: " .. outcome .. " " .. text)
end
if not usePolicy() then return NO_POLICY end
unclaim(id, token)
if outcome == "release" then
  local attempts = math.max(0, tonumber(cur[6]) - 1)
  local version = tonumber(cur[9]) + 1
  redis.call("HDEL", r, "claim", "startedAt", "completedSegments", "errors")
  redis.call("HSET", r, "_tag", '"PENDING"', "attempts", attempts, "version", version, ".n", 0, ".e", 0)
  relist(id, "PROCESSING", "PENDING", cur[7])
  enqueue(id, cur[8])
  notify("W", id, version, '{"attempts":' .. attempts .. ',"kind":"' .. cur[8] .. '"}')
  return { evicted, "ok" }
end
local total, errors = tonumber(cur[3]), tonumber(cur[4])
if outcome == "ok" then
  if total > 0 and errors == total then
    finish(id, "FAILED", now, '"error":"All ' .. total .. ' segment(s) failed"', tonumber(cur[5]))
  else
    finish(id, "COMPLETED", now, nil, tonumber(cur[5]))
  end
elseif outcome == "fail" then
  finish(id, "FAILED", now, '"error":' .. text, tonumber(cur[5]))
else
  finish(id, "CANCELLED", now, '"reason":' .. text, tonumber(cur[5]))
end
enforceCap()
trimTombstones()
return { evicted, "ok" }
