/**
 * The Redis registry's atomic steps, one Lua script each. Every script gets the key prefix as its one key (so that
 * a cluster routes it to the prefix's slot: the prefix is a hash tag) and, as its first arguments, the time from
 * Effect's `Clock`, the eviction policy and the calling process's origin; none reads Redis's own clock or uses key
 * TTLs.
 *
 * Keys under the prefix P:
 * - `P t:{id}`      hash, an active (PENDING or PROCESSING) record: one field per field of the record, each value JSON
 *                   text, so that a script moves a task on by setting a few fields
 * - `P f:{id}`      string, a finished record as JSON text, its status first: it no longer changes, and one string
 *                   takes half the memory of a hash of its fields
 * - `P q:{kind}`    zset, PENDING tasks of a kind, scored by arrival (`seq` in `P meta`)
 * - `P claims`      zset, PROCESSING tasks, scored by their lease's deadline
 * - `P done`        zset, the finished index, scored by completedAt (ties by id): eviction walks it from the oldest
 * - `P by:{STATUS}` zset per status, scored by createdAt, for `list`
 * - `P tomb`        hash, id → tombstone JSON; `P tomb:order` zset, id → burial sequence (`P tomb:seq`)
 * - `P meta`        hash: `pending` (count), `weight` (the active tasks' work) and `seq` (arrivals), kept by the scripts
 * Channels: `P events` (a change `C{origin} {id} {record}`, or `W…` when the change left the task waiting for a
 * worker, or an eviction `E{origin} {tombstone}`, where origin names the process that ran the script) and `P lost`
 * (claim tokens no longer current).
 */

/** The most records one script evicts; a sweep that evicted this many runs again. */
export const EVICTION_LIMIT = 1000

const prelude = `
local P = KEYS[1]
local now = tonumber(ARGV[1])
local thresholdMs = tonumber(ARGV[2])
local maxRetained = tonumber(ARGV[3])
local tombCapacity = tonumber(ARGV[4])
-- Which process runs this script: every notice says so, so that each process can tell its own changes from others'.
local origin = ARGV[5]
local evicted = 0
local BATCH = 500

local function rec(id) return P .. "t:" .. id end
local function fin(id) return P .. "f:" .. id end
local function unquote(s) return string.sub(s, 2, -2) end
local function quote(s) return '"' .. s .. '"' end

-- A hash's fields (HGETALL's answer, values JSON already) as a JSON object, less those in \`skip\`, after the
-- members in \`first\` (JSON text). One table.concat: Lua interns every string it makes, so no piece is joined twice.
local function hashJson(f, first, skip)
  local parts, n = { "{" }, 1
  if first then parts[2], parts[3], n = first, ",", 3 end
  for i = 1, #f, 2 do
    if not (skip and skip[f[i]]) then
      parts[n + 1], parts[n + 2], parts[n + 3], parts[n + 4], parts[n + 5] = '"', f[i], '":', f[i + 1], ","
      n = n + 5
    end
  end
  if n == 1 then return "{}" end
  -- The last piece is a separator: it becomes the closing brace.
  parts[n] = "}"
  return table.concat(parts, "", 1, n)
end

-- An active record as JSON text; false if not active.
local function activeJson(id)
  local f = redis.call("HGETALL", rec(id))
  if #f == 0 then return false end
  return hashJson(f)
end

-- Any record as JSON text, active or finished; false if there is none.
local function recordJson(id)
  return activeJson(id) or redis.call("GET", fin(id))
end

-- A finished record's status, from the start of its JSON.
local function statusOf(json) return string.match(json, '^{"_tag":"(%u+)"') end

-- What only an active record has: a finished one drops it (and its status is written first).
local ACTIVE_ONLY = { _tag = true, payload = true, attempts = true, weight = true, claim = true }

-- An active record ends: its hash becomes a finished record's JSON. Answers the JSON.
local function toFinished(id, status)
  local json = hashJson(redis.call("HGETALL", rec(id)), '"_tag":' .. quote(status), ACTIVE_ONLY)
  redis.call("DEL", rec(id))
  redis.call("SET", fin(id), json)
  return json
end

-- Tells every process of the record's new state (given as \`json\` when the caller has it); \`waiting\` when the task
-- is PENDING again, so that an idle worker looks for it.
local function changed(id, json, waiting)
  redis.call("PUBLISH", P .. "events", (waiting and "W" or "C") .. origin .. " " .. id .. " " .. (json or activeJson(id)))
end

-- Moves a record between the per-status lists.
local function relist(id, from, to, createdAt)
  if from then redis.call("ZREM", P .. "by:" .. from, id) end
  redis.call("ZADD", P .. "by:" .. to, createdAt, id)
end

local function bury(id, completedAt, cause)
  local status = statusOf(redis.call("GET", fin(id)))
  redis.call("DEL", fin(id))
  redis.call("ZREM", P .. "done", id)
  redis.call("ZREM", P .. "by:" .. status, id)
  local stone = '{"status":"' .. status .. '","completedAt":' .. completedAt .. ',"evictedAt":' .. ARGV[1] .. '}'
  if tombCapacity > 0 and redis.call("HSET", P .. "tomb", id, stone) == 1 then
    redis.call("ZADD", P .. "tomb:order", redis.call("INCR", P .. "tomb:seq"), id)
  end
  redis.call("PUBLISH", P .. "events",
    "E" .. origin .. ' {"id":"' .. id .. '","cause":"' .. cause .. '",' .. string.sub(stone, 2))
  evicted = evicted + 1
end

local function trimTombstones()
  local extra = redis.call("ZCARD", P .. "tomb:order") - tombCapacity
  if extra > 0 then
    local gone = redis.call("ZPOPMIN", P .. "tomb:order", extra)
    for i = 1, #gone, 2 do redis.call("HDEL", P .. "tomb", gone[i]) end
  end
end

-- At most this many records are evicted by one script, so that a backlog (a registry idle for long, a threshold
-- lowered) never holds Redis for long: the sweep runs again until it is gone, and reads check the threshold anyway.
local LIMIT = ${EVICTION_LIMIT}

-- Finished records strictly older than the threshold, oldest first: O(k log n) for k evicted.
local function evictAged()
  local cutoff = now - thresholdMs
  while evicted < LIMIT do
    local due = redis.call("ZRANGEBYSCORE", P .. "done", "-inf", "(" .. cutoff, "WITHSCORES", "LIMIT", 0,
      math.min(BATCH, LIMIT - evicted))
    for i = 1, #due, 2 do bury(due[i], due[i + 1], "age") end
    if #due == 0 then break end
  end
end

-- The oldest finished records beyond the cap.
local function enforceCap()
  local extra = math.min(redis.call("ZCARD", P .. "done") - maxRetained, LIMIT - evicted)
  if extra > 0 then
    local oldest = redis.call("ZRANGE", P .. "done", 0, extra - 1, "WITHSCORES")
    for i = 1, #oldest, 2 do bury(oldest[i], oldest[i + 1], "cap") end
  end
end

local function evictDue()
  evictAged()
  enforceCap()
  trimTombstones()
end

-- A record becomes finished: out of the active bookkeeping, into the finished index.
local function finished(id, weight, completedAt)
  -- Not HINCRBY by -0, which Lua writes "-0" and Redis refuses as not an integer, failing the script half-way.
  if weight ~= 0 then redis.call("HINCRBY", P .. "meta", "weight", -weight) end
  redis.call("ZADD", P .. "done", completedAt, id)
end

-- Queues a PENDING task; the caller publishes the change as \`waiting\`.
local function enqueue(id, kind)
  redis.call("ZADD", P .. "q:" .. kind, redis.call("HINCRBY", P .. "meta", "seq", 1), id)
  redis.call("HINCRBY", P .. "meta", "pending", 1)
end

local function dequeue(id, kind)
  redis.call("ZREM", P .. "q:" .. kind, id)
  redis.call("HINCRBY", P .. "meta", "pending", -1)
end

-- Sets the field/value pairs from ARGV[from] on, in one command.
local function hset(r, from)
  redis.call("HSET", r, unpack(ARGV, from))
end
`

/**
 * Evicts the records that have expired, then admits the task if the active tasks are under both limits. (Only a
 * record's finishing can take the finished index over its cap: the steps that finish records enforce it.)
 * Own args: maxPending, maxWork, id, kind, weight, createdAt, the record's JSON (for the change notice: cheaper made
 * by the caller than joined here), then its field/value pairs.
 * Answers `[evicted, "ok"]`, `[evicted, "full"]` or `[evicted, "busy", activeWeight]`.
 */
export const submit = `${prelude}
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
`

/**
 * Claims the oldest PENDING task among the kinds: PENDING → PROCESSING with the claim token, leased until the deadline.
 * Own args: token, deadline, kinds… Answers the claimed record's JSON, or false.
 */
export const claim = `${prelude}
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
`

/**
 * Replaces a PROCESSING record with its next state, computed by the domain, if the claim is still current and the
 * record is the version the worker last wrote. The next state may be PROCESSING (a report), PENDING (handed back
 * at shutdown) or finished (the run ended).
 * Own args: id, token, expected version, next status, next completedAt (or ""), the next state's JSON (status first
 * when finished), then, for an active state, its field/value pairs.
 * Answers `[evicted, "ok" | "lost" | "stale"]`.
 */
export const put = `${prelude}
local id, token, expected, status, completedAt = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "version", "weight", "kind", "createdAt")
if cur[1] ~= '"PROCESSING"' or cur[2] ~= quote(token) then return { 0, "lost" } end
if cur[3] ~= expected then return { 0, "stale" } end
if status == "PROCESSING" then
  -- A report: the same fields, new values.
  hset(r, 12)
  changed(id, ARGV[11])
  return { 0, "ok" }
end
redis.call("DEL", r)
redis.call("ZREM", P .. "claims", id)
relist(id, "PROCESSING", status, cur[6])
if status == "PENDING" then
  hset(r, 12)
  enqueue(id, unquote(cur[5]))
  changed(id, ARGV[11], true)
  return { evicted, "ok" }
end
redis.call("SET", fin(id), ARGV[11])
finished(id, tonumber(cur[4]), completedAt)
changed(id, ARGV[11])
enforceCap()
trimTombstones()
return { evicted, "ok" }
`

/**
 * Cancels a PENDING or PROCESSING task; the worker holding its claim, in whichever process, is told through `P lost`.
 * Own args: id, reason as JSON text. Answers `[evicted, "ok", record]`, `[evicted, "finished", status]`,
 * `[evicted, "gone", tombstone]` or `[evicted, "unknown"]`.
 */
export const cancel = `${prelude}
local id, reason = ARGV[6], ARGV[7]
evictDue()
local r = rec(id)
local cur = redis.call("HMGET", r, "_tag", "claim", "weight", "kind", "createdAt")
if not cur[1] then
  local done = redis.call("GET", fin(id))
  if done then return { evicted, "finished", statusOf(done) } end
  local stone = redis.call("HGET", P .. "tomb", id)
  if stone then return { evicted, "gone", stone } end
  return { evicted, "unknown" }
end
local status = unquote(cur[1])
if status == "PENDING" then
  dequeue(id, unquote(cur[4]))
  redis.call("HSET", r, "completedSegments", "[]", "errors", "[]")
else
  redis.call("ZREM", P .. "claims", id)
  redis.call("PUBLISH", P .. "lost", unquote(cur[2]))
end
redis.call("HSET", r, "completedAt", ARGV[1], "reason", reason)
redis.call("HINCRBY", r, "version", 1)
local json = toFinished(id, "CANCELLED")
finished(id, tonumber(cur[3]), ARGV[1])
relist(id, status, "CANCELLED", cur[5])
changed(id, json)
enforceCap()
trimTombstones()
return { evicted, "ok", json }
`

/**
 * Takes back claims whose lease has run out: the task goes back to PENDING while it has attempts left, else it ends
 * FAILED. The worker that held the claim, if it is still alive, is told through `P lost`.
 * Own args: max attempts, the failure message as JSON text, at most how many. Answers `[evicted, requeued, failed]`.
 */
export const reap = `${prelude}
local maxAttempts, message, limit = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local due = redis.call("ZRANGEBYSCORE", P .. "claims", "-inf", "(" .. ARGV[1], "LIMIT", 0, limit)
local requeued, failed = 0, 0
for _, id in ipairs(due) do
  local r = rec(id)
  local cur = redis.call("HMGET", r, "claim", "attempts", "weight", "kind", "createdAt")
  redis.call("ZREM", P .. "claims", id)
  redis.call("PUBLISH", P .. "lost", unquote(cur[1]))
  redis.call("HINCRBY", r, "version", 1)
  if tonumber(cur[2]) < maxAttempts then
    redis.call("HDEL", r, "claim", "startedAt", "completedSegments", "errors")
    redis.call("HSET", r, "_tag", '"PENDING"')
    relist(id, "PROCESSING", "PENDING", cur[5])
    enqueue(id, unquote(cur[4]))
    changed(id, nil, true)
    requeued = requeued + 1
  else
    redis.call("HSET", r, "completedAt", ARGV[1], "error", message)
    local json = toFinished(id, "FAILED")
    finished(id, tonumber(cur[3]), ARGV[1])
    relist(id, "PROCESSING", "FAILED", cur[5])
    changed(id, json)
    failed = failed + 1
  end
end
enforceCap()
trimTombstones()
return { evicted, requeued, failed }
`

/**
 * Extends the leases of claims still current. Own args: deadline, then id/token pairs. Answers the tokens that are
 * no longer current.
 */
export const renew = `${prelude}
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
`

/** Evicts what is due, at most `LIMIT` records a run (the caller runs it again while it evicts that many). Answers `[evicted]`. */
export const sweep = `${prelude}
evictDue()
return { evicted }
`

/**
 * A record, as JSON text. One past its threshold is logically gone, whether or not a sweep has run: it is evicted
 * now, and answered from its tombstone. Own args: id. Answers `[evicted, "record", json]`,
 * `[evicted, "gone", tombstone]` or `[evicted, "unknown"]`.
 */
export const read = `${prelude}
local id = ARGV[6]
local active = activeJson(id)
if active then return { 0, "record", active } end
local done = redis.call("GET", fin(id))
if done then
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
`

/**
 * The live records, newest first (ties by id), after evicting what is due. Own args: status or "", limit or "".
 * Answers `[evicted, record JSON…]`.
 */
export const list = `${prelude}
local only, limit = ARGV[6], tonumber(ARGV[7])
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
`

/**
 * Counts, and when the oldest finished record completed: O(1) (O(log n) for the oldest).
 * Answers `[pending, processing, finished, tombstones, oldest completedAt or false]`.
 */
export const stats = `
local P = KEYS[1]
local oldest = redis.call("ZRANGE", P .. "done", 0, 0, "WITHSCORES")
return {
  tonumber(redis.call("HGET", P .. "meta", "pending") or "0"),
  redis.call("ZCARD", P .. "claims"),
  redis.call("ZCARD", P .. "done"),
  redis.call("ZCARD", P .. "tomb:order"),
  oldest[2] or false
}
`
