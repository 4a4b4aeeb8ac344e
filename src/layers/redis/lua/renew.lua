-- Extends the leases of claims still current. Own args: deadline, then id/token pairs. Answers the tokens that are
-- no longer current.
local lost = {}
for i = 7, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call("HGET", rec(id), "claim") == quote(token) then
    redis.call("ZADD", P .. "claims", "XX", ARGV[6], id)
  else
    lost[#lost + 1] = token
  end
end
return lost
