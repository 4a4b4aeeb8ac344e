-- Counts, and when the oldest finished record completed: O(1) (O(log n) for the oldest).
-- Answers `[pending, processing, finished, tombstones, oldest completedAt or false]`.
local P = KEYS[1]
local oldest = redis.call("ZRANGE", P .. "done", 0, 0, "WITHSCORES")
return {
  tonumber(redis.call("HGET", P .. "meta", "pending") or "0"),
  redis.call("ZCARD", P .. "claims"),
  redis.call("ZCARD", P .. "done"),
  redis.call("ZCARD", P .. "tomb:order"),
  oldest[2] or false
}
