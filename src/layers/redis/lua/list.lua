-- The live records, newest first (ties by id), after evicting what is due. Own args: status or "", limit or "".
-- Answers `[evicted, record JSON…]` or `["nopolicy"]`.
local only, limit = ARGV[3], tonumber(ARGV[4])
if not usePolicy() then return NO_POLICY end
evictDue()
local statuses = { "PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED" }
if only ~= "" then statuses = { only } end
local rows = {}
for _, status in ipairs(statuses) do
  local key = P .. "by:" .. status
  local found
  if limit then
    found = redis.call("ZREVRANGE", key, 0, limit - 1, "WITHSCORES")
    -- Ties at the last score are ordered by id the other way round here: take them all, and let the sort choose.
    if #found == 2 * limit then
      local last = found[#found]
      found = redis.call("ZREVRANGEBYSCORE", key, "+inf", "(" .. last, "WITHSCORES")
      local ties = redis.call("ZRANGEBYSCORE", key, last, last, "WITHSCORES")
      for i = 1, #ties do found[#found + 1] = ties[i] end
    end
  else
    found = redis.call("ZREVRANGE", key, 0, -1, "WITHSCORES")
  end
  for i = 1, #found, 2 do rows[#rows + 1] = { found[i], tonumber(found[i + 1]) } end
end
table.sort(rows, function(a, b)
  if a[2] ~= b[2] then return a[2] > b[2] end
  return a[1] < b[1]
end)
local out = { evicted }
for i = 1, #rows do
  if limit and i > limit then break end
  out[#out + 1] = recordJson(rows[i][1])
end
return out
