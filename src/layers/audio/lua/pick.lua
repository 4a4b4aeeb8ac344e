-- Picks finished tasks' audio to remove, oldest first: every one last written before `cutoff`, then more while held
-- is over the budget. Args: cutoff, ours, limit. Answers the task ids.
if not integer(ARGV[1]) then return bad("pick.lua", ARGV[1]) end
if not whole(ARGV[2]) then return bad("pick.lua", ARGV[2]) end
if not whole(ARGV[3]) then return bad("pick.lua", ARGV[3]) end
local now = redisNow()
purge(now)
local cutoff, budget = tonumber(ARGV[1]), budgetOr(ARGV[2])
return takeWhile(function(last) return last < cutoff or (budget > 0 and num("held") > budget) end, tonumber(ARGV[3]), now)
