-- Records a written segment and ends its reservation. Args: token, task id, segment id, bytes, at.
if not name(ARGV[1]) then return bad("commit.lua", ARGV[1]) end
if not name(ARGV[2]) then return bad("commit.lua", ARGV[2]) end
if not name(ARGV[3]) then return bad("commit.lua", ARGV[3]) end
if not whole(ARGV[4]) then return bad("commit.lua", ARGV[4]) end
if not integer(ARGV[5]) then return bad("commit.lua", ARGV[5]) end
local token, id, seg, bytes, at = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local r = redis.call("HGET", RES, token)
if r then
  redis.call("HDEL", RES, token)
  redis.call("ZREM", RESTTL, token)
  redis.call("HINCRBY", META, "reserved", -tonumber(r))
end
local old = tonumber(redis.call("HGET", P .. "a:s:" .. id, seg) or "0")
redis.call("HSET", P .. "a:s:" .. id, seg, bytes)
redis.call("HINCRBY", BYTES, id, bytes - old)
redis.call("HINCRBY", META, "held", bytes - old)
local last = redis.call("ZSCORE", TASKS, id)
if not last or tonumber(last) < at then redis.call("ZADD", TASKS, at, id) end
return "ok"
