-- Says that a task's audio being removed is gone. Args: task id.
if not name(ARGV[1]) then return bad("release.lua", ARGV[1]) end
local b = redis.call("HGET", RM, ARGV[1])
if b then
  redis.call("HDEL", RM, ARGV[1])
  redis.call("ZREM", RMTTL, ARGV[1])
  redis.call("HINCRBY", META, "removing", -tonumber(b))
end
return "ok"
