-- Stores the registry's policy if none is stored yet, and answers the one stored (which every process applies).
-- Args: thresholdMs, maxRetained, tombstones, maxPending, maxWork. Answers those five as stored.
local P = KEYS[1]
local key = P .. "policy"
if redis.call("EXISTS", key) == 0 then
  for i = 1, 5 do
    if not string.match(ARGV[i], "^%d+$") then return redis.error_reply("policy.lua: not a whole number: " .. ARGV[i]) end
  end
  redis.call("HSET", key, "thresholdMs", ARGV[1], "maxRetained", ARGV[2], "tombstones", ARGV[3], "maxPending", ARGV[4],
    "maxWork", ARGV[5])
end
return redis.call("HMGET", key, "thresholdMs", "maxRetained", "tombstones", "maxPending", "maxWork")
