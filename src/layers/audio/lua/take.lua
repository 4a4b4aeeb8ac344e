-- Takes a task's audio out of the count to remove it, whatever its state. Args: task id. Answers 1, or 0 if none.
if not name(ARGV[1]) then return bad("take.lua", ARGV[1]) end
return take(ARGV[1], redisNow()) and 1 or 0
