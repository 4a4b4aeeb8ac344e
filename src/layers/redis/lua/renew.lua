-- Extends the leases of claims still current, to `lease` milliseconds from now on Redis's clock. Own args: lease,
-- then id/token pairs. Answers the tokens that are no longer current.
local lease = tonumber(ARGV[3])
local deadline = redisNow() + lease
local lost = {}
for i = 4, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call("HGET", P .. "tok", token) == id then
    redis.call("ZADD", P .. "claims", "XX", deadline, id)
  else
    lost[#lost + 1] = token
  end
end
return lost
