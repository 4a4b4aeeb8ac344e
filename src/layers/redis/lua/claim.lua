-- Claims the oldest PENDING task among the kinds: PENDING → PROCESSING under the caller's token, leased until
-- Redis's clock passes `lease` milliseconds from now. A claim retried with a token that already holds a task (the
-- first try's answer was lost) answers that task again, at no further attempt. A claim that leaves tasks of its kinds
-- waiting sets their wake-up markers again, so that another idle worker comes for them.
-- Own args: token, lease in milliseconds, kinds… Answers the claimed record's JSON, or false.
local token, lease = ARGV[3], tonumber(ARGV[4])
local already = redis.call("HGET", P .. "tok", token)
if already then return activeJson(already) end
local bestId, bestKind, bestSeq = nil, nil, nil
local waiting = {}
for i = 5, #ARGV do
  local first = redis.call("ZRANGE", P .. "q:" .. ARGV[i], 0, 0, "WITHSCORES")
  if first[1] then
    waiting[#waiting + 1] = ARGV[i]
    if bestSeq == nil or tonumber(first[2]) < bestSeq then
      bestId, bestKind, bestSeq = first[1], ARGV[i], tonumber(first[2])
    end
  end
end
if not bestId then return false end
local r = rec(bestId)
redis.call("ZREM", P .. "q:" .. bestKind, bestId)
-- The marker that woke this worker is spent: each kind that still has tasks waiting wakes another worker.
for _, kind in ipairs(waiting) do
  if kind ~= bestKind or redis.call("ZCARD", P .. "q:" .. kind) > 0 then wake(kind) end
end
redis.call("HINCRBY", P .. "meta", "pending", -1)
local attempts = redis.call("HINCRBY", r, "attempts", 1)
local version = redis.call("HINCRBY", r, "version", 1)
redis.call("HSET", r, "_tag", '"PROCESSING"', "claim", quote(token), "startedAt", ARGV[1],
  "completedSegments", "[]", "errors", "[]", ".n", 0, ".e", 0)
redis.call("ZADD", P .. "claims", redisNow() + lease, bestId)
redis.call("HSET", P .. "tok", token, bestId)
relist(bestId, "PENDING", "PROCESSING", redis.call("HGET", r, "createdAt"))
notify("C", bestId, version, '{"claim":"' .. token .. '","startedAt":' .. ARGV[1] .. ',"attempts":' .. attempts .. '}')
return activeJson(bestId)
