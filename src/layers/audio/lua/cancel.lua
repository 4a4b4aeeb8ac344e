-- Ends a reservation whose segment was not written. Args: token.
if not name(ARGV[1]) then return bad("cancel.lua", ARGV[1]) end
local r = redis.call("HGET", RES, ARGV[1])
if r then
  redis.call("HDEL", RES, ARGV[1])
  redis.call("ZREM", RESTTL, ARGV[1])
  redis.call("HINCRBY", META, "reserved", -tonumber(r))
end
return "ok"
