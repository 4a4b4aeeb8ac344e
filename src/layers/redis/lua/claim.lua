-- Claims the oldest PENDING task among the kinds: PENDING → PROCESSING with the claim token, leased until the deadline.
-- Own args: token, deadline, kinds… Answers the claimed record's JSON, or false.
local token, deadline = ARGV[6], ARGV[7]
local bestId, bestKind, bestSeq = nil, nil, nil
for i = 8, #ARGV do
  local first = redis.call("ZRANGE", P .. "q:" .. ARGV[i], 0, 0, "WITHSCORES")
  if first[1] and (bestSeq == nil or tonumber(first[2]) < bestSeq) then
    bestId, bestKind, bestSeq = first[1], ARGV[i], tonumber(first[2])
  end
end
if not bestId then return false end
local r = rec(bestId)
dequeue(bestId, bestKind)
redis.call("HSET", r, "_tag", '"PROCESSING"', "claim", quote(token), "startedAt", ARGV[1],
  "completedSegments", "[]", "errors", "[]")
redis.call("HINCRBY", r, "attempts", 1)
redis.call("HINCRBY", r, "version", 1)
redis.call("ZADD", P .. "claims", deadline, bestId)
relist(bestId, "PENDING", "PROCESSING", redis.call("HGET", r, "createdAt"))
local json = activeJson(bestId)
changed(bestId, json)
return json
