-- Admits a task: evicts the records that have expired; then, with an idempotency key still held, answers the task
-- it names (or that the key was used for another payload); else admits the task if the active tasks are under both
-- limits. (Only a record's finishing can take the finished index over its cap: the steps that finish records
-- enforce it.)
-- Own args: id, kind, total, weight, idempotency key or "", fingerprint or "", payload as JSON text.
-- Answers `[evicted, "ok"]`, `[evicted, "full", maxPending]`, `[evicted, "busy", activeWeight, maxWork]`,
-- `[evicted, "large", maxWork]`, `[evicted, "same", "{fingerprint} {id} {total} {weight} {createdAt}"]` (the key's
-- task), `[evicted, "reused", id]`, or `["nopolicy"]`.
local id, kind, total, weight, key, fingerprint, payload =
  ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9]
if not usePolicy() then return NO_POLICY end
evictAged()
if evicted > 0 then trimTombstones() end
-- After eviction, as in memory: a key whose task is logically gone is free again.
if key ~= "" then
  local held = redis.call("HGET", P .. "idem", key)
  if held then
    if string.sub(held, 1, #fingerprint + 1) == fingerprint .. " " then return { evicted, "same", held } end
    return { evicted, "reused", string.match(held, "^%S+ (%S+)") }
  end
end
if weight > maxWork then return { evicted, "large", maxWork } end
local meta = redis.call("HMGET", P .. "meta", "pending", "weight", "seq")
local pending, active, seq = tonumber(meta[1] or "0"), tonumber(meta[2] or "0"), tonumber(meta[3] or "0") + 1
if pending + redis.call("ZCARD", P .. "claims") >= maxPending then return { evicted, "full", maxPending } end
if active + weight > maxWork then return { evicted, "busy", active, maxWork } end
local head = '"id":"' .. id .. '","kind":"' .. kind .. '","total":' .. total .. ',"createdAt":' .. ARGV[1] ..
  ',"version":1,"attempts":0,"weight":' .. ARGV[6]
redis.call("HSET", rec(id), "_tag", '"PENDING"', "id", quote(id), "kind", quote(kind), "total", total,
  "createdAt", ARGV[1], "version", 1, "payload", payload, "attempts", 0, "weight", ARGV[6], ".k", kind, ".n", 0, ".e", 0)
-- enqueue(), with the counts already read: one write for all three.
redis.call("HSET", P .. "meta", "pending", pending + 1, "weight", active + weight, "seq", seq)
redis.call("ZADD", P .. "q:" .. kind, seq, id)
wake(kind)
relist(id, nil, "PENDING", ARGV[1])
if key ~= "" then
  redis.call("HSET", P .. "idem", key, fingerprint .. " " .. id .. " " .. total .. " " .. ARGV[6] .. " " .. ARGV[1])
  redis.call("HSET", P .. "idem:of", id, key)
end
notify("S", id, 1, '{"_tag":"PENDING",' .. head .. '}')
return { evicted, "ok" }
