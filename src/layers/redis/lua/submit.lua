-- Evicts the records that have expired, then admits the task if the active tasks are under both limits. (Only a
-- record's finishing can take the finished index over its cap: the steps that finish records enforce it.)
-- Own args: maxPending, maxWork, id, kind, weight, createdAt, the record's JSON (for the change notice: cheaper made
-- by the caller than joined here), then its field/value pairs.
-- Answers `[evicted, "ok"]`, `[evicted, "full"]` or `[evicted, "busy", activeWeight]`.
local maxPending, maxWork = tonumber(ARGV[6]), tonumber(ARGV[7])
local id, kind, weight, createdAt, json = ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11], ARGV[12]
evictAged()
if evicted > 0 then trimTombstones() end
local meta = redis.call("HMGET", P .. "meta", "pending", "weight", "seq")
local pending, active, seq = tonumber(meta[1] or "0"), tonumber(meta[2] or "0"), tonumber(meta[3] or "0") + 1
if pending + redis.call("ZCARD", P .. "claims") >= maxPending then return { evicted, "full" } end
if active + weight > maxWork then return { evicted, "busy", active } end
hset(rec(id), 13)
-- enqueue(), with the counts already read: one write for all three.
redis.call("HSET", P .. "meta", "pending", pending + 1, "weight", active + weight, "seq", seq)
redis.call("ZADD", P .. "q:" .. kind, seq, id)
relist(id, nil, "PENDING", createdAt)
changed(id, json, true)
return { evicted, "ok" }
