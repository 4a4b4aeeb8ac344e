-- Every task's audio, oldest first: `{ id, bytes, lastWrite, ... }`.
local t = redis.call("ZRANGE", TASKS, 0, -1, "WITHSCORES")
local out = {}
for i = 1, #t, 2 do
  out[#out + 1] = t[i]
  out[#out + 1] = tonumber(redis.call("HGET", BYTES, t[i]) or "0")
  out[#out + 1] = t[i + 1]
end
return out
