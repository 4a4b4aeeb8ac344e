-- Reserves room for a segment. Args: token, size, ours (this process's budget, stored if none is).
-- Picks finished tasks' audio (oldest first) until held + removing + reserved + size fits the budget; admits past it
-- while held + removing is within it (one segment per writer). Answers `{ "ok" | "busy" | "full", budget, victims }`.
if not name(ARGV[1]) then return bad("reserve.lua", ARGV[1]) end
if not whole(ARGV[2]) then return bad("reserve.lua", ARGV[2]) end
if not whole(ARGV[3]) then return bad("reserve.lua", ARGV[3]) end
local now = redisNow()
purge(now)
local size, budget = tonumber(ARGV[2]), budgetOr(ARGV[3])
local function fits() return budget == 0 or num("held") + num("removing") + num("reserved") + size <= budget end
local victims = {}
if not fits() then victims = takeWhile(function() return not fits() end, 1000, now) end
if fits() or num("held") + num("removing") <= budget then
  redis.call("HSET", RES, ARGV[1], size)
  redis.call("ZADD", RESTTL, now + TTL, ARGV[1])
  redis.call("HINCRBY", META, "reserved", size)
  return { "ok", budget, victims }
end
return { num("removing") > 0 and "busy" or "full", budget, victims }
