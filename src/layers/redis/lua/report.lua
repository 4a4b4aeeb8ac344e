-- Records one unit of progress under a claim: appends one segment (or one error) and moves the counts and the
-- version on. A report whose number was already applied under this claim (a retry) changes nothing.
-- Own args: id, token, the report's number, "D" (a segment done) or "X" (a segment failed), the segment or error as
-- JSON text. Answers "ok", "again" (applied before), "lost" (the claim is not current) or "over" (every unit of the
-- task is already recorded).
local id, token, n, kind, item = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "total", ".n", ".e", "version",
  kind == "D" and "completedSegments" or "errors")
if cur[1] ~= '"PROCESSING"' or cur[2] ~= quote(token) then return "lost" end
if not n or n < 1 or n > 16777216 or (kind ~= "D" and kind ~= "X") then
  return redis.error_reply("report.lua: bad arguments: " .. tostring(ARGV[5]) .. " " .. tostring(kind))
end
if redis.call("GETBIT", P .. "r:" .. id, n) == 1 then return "again" end
if tonumber(cur[4]) >= tonumber(cur[3]) then return "over" end
local list = cur[7]
local appended = list == "[]" and ("[" .. item .. "]") or (string.sub(list, 1, -2) .. "," .. item .. "]")
local version = tonumber(cur[6]) + 1
redis.call("SETBIT", P .. "r:" .. id, n, 1)
if kind == "D" then
  redis.call("HSET", r, "completedSegments", appended, ".n", tonumber(cur[4]) + 1, "version", version)
else
  redis.call("HSET", r, "errors", appended, ".n", tonumber(cur[4]) + 1, ".e", tonumber(cur[5]) + 1, "version", version)
end
notify(kind, id, version, item)
return "ok"
