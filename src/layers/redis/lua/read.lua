-- A record, as JSON text. One past its threshold is logically gone, whether or not a sweep has run: it is evicted
-- now, and answered from its tombstone. Own args: id. Answers `[evicted, "record", json]`,
-- `[evicted, "gone", tombstone]`, `[evicted, "unknown"]` or `["nopolicy"]`.
local id = ARGV[3]
local active = activeJson(id)
if active then return { 0, "record", active } end
local done = redis.call("GET", fin(id))
if done then
  if not usePolicy() then return NO_POLICY end
  local completedAt = redis.call("ZSCORE", P .. "done", id)
  if now - tonumber(completedAt) <= thresholdMs then return { 0, "record", done } end
  evictDue()
  -- Behind a backlog of older records that this run left for the sweep: evicted out of turn.
  if redis.call("EXISTS", fin(id)) == 1 then
    bury(id, completedAt, "age")
    trimTombstones()
  end
end
local stone = redis.call("HGET", P .. "tomb", id)
if stone then return { evicted, "gone", stone } end
return { evicted, "unknown" }
