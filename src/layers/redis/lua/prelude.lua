-- The Redis registry's atomic steps, one Lua script each. Every script gets the key prefix as its one key (so that
-- a cluster routes it to the prefix's slot: the prefix is a hash tag) and, as its first two arguments, the time from
-- Effect's `Clock` (domain times: created, started, completed, and eviction) and the calling process's origin.
-- Leases alone are kept on Redis's own clock (`TIME`), so that no two processes' clocks are ever compared.
--
-- Every script checks every precondition before its first write, and answers a refusal (unknown id, stale claim,
-- finished task) having changed nothing. Changes are deltas: each step writes the few fields it changes, from its
-- own arguments, never a record a caller computed from an earlier read.
--
-- Keys under the prefix P:
-- - `P policy`      hash, the registry's one eviction and admission policy: `thresholdMs`, `maxRetained`,
--                   `tombstones`, `maxPending`, `maxWork`; stored by the first process (policy.lua), applied by all
-- - `P t:{id}`      hash, an active (PENDING or PROCESSING) record: one field per field of the record, each value JSON
--                   text, plus fields of the store's own whose names start with "." (`.k` the kind's name, plain;
--                   `.n` reports recorded, `.e` of them errors), which are never part of the record's JSON
-- - `P f:{id}`      string, a finished record as JSON text, its status first: it no longer changes, and one string
--                   takes half the memory of a hash of its fields
-- - `P r:{id}`      bitmap, the numbers of the reports applied under the current claim (a retried report is not
--                   applied twice)
-- - `P q:{kind}`    zset, PENDING tasks of a kind, scored by arrival (`seq` in `P meta`)
-- - `P claims`      zset, PROCESSING tasks, scored by their lease's deadline on Redis's clock
-- - `P tok`         hash, claim token → id, for the PROCESSING tasks (a retried claim finds what it claimed)
-- - `P done`        zset, the finished index, scored by completedAt (ties by id): eviction walks it from the oldest
-- - `P by:{STATUS}` zset per status, scored by createdAt, for `list`
-- - `P tomb`        hash, id → tombstone JSON; `P tomb:order` zset, id → burial sequence (`P tomb:seq`)
-- - `P idem`        hash, idempotency key → "{fingerprint} {id} {total} {weight} {createdAt}"; `P idem:of`, id → key;
--                   a key is dropped with its task's tombstone
-- - `P meta`        hash: `pending` (count), `weight` (the active tasks' work) and `seq` (arrivals), kept by the scripts
-- - `P w:{kind}`    zset of one member, the kind's wake-up marker: set when a task of the kind starts waiting and
--                   by a claim that leaves some waiting; an idle process takes it (`BZPOPMIN`) and wakes one worker
-- - `P log`         stream, the last 10,000 or so notices (`n`: the notice without its log id), capped as it grows:
--                   its entry ids are the registry-wide event ids from which a reader of events resumes, in any
--                   process
-- Channels: `P events` carries one notice per change, `{T}{origin}/{log id} {id} {version} {delta}`, where T says what the
-- delta is: `S` submitted (the record without its payload), `C` claimed (`{"claim","startedAt","attempts"}`), `D` a
-- segment done, `X` a segment failed (the segment or error), `W` waiting again, handed back or taken back
-- (`{"attempts","kind"}`), `F` finished (the finished record); or an eviction, `E{origin}/{log id} {tombstone}`. No notice
-- carries a payload. `P lost` carries claim tokens no longer current.
--
-- This prelude comes first in every script but stats.lua and policy.lua (Scripts.ts joins them).
local P = KEYS[1]
local now = tonumber(ARGV[1])
-- Which process runs this script: every notice says so, so that each process can tell its own changes from others'.
local origin = ARGV[2]
local evicted = 0
local BATCH = 500

-- The policy, read by `usePolicy` before a script's first write when the script evicts or admits.
local thresholdMs, maxRetained, tombCapacity, maxPending, maxWork

-- Reads the stored policy. Its absence (a Redis that lost its data) is answered before anything is written: the
-- caller stores its own policy and runs the script again.
local function usePolicy()
  local p = redis.call("HMGET", P .. "policy", "thresholdMs", "maxRetained", "tombstones", "maxPending", "maxWork")
  if not p[1] then return false end
  thresholdMs, maxRetained, tombCapacity = tonumber(p[1]), tonumber(p[2]), tonumber(p[3])
  maxPending, maxWork = tonumber(p[4]), tonumber(p[5])
  return true
end
local NO_POLICY = { "nopolicy" }

-- Redis's own clock in milliseconds, for leases only.
local function redisNow()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function rec(id) return P .. "t:" .. id end
local function fin(id) return P .. "f:" .. id end
local function quote(s) return '"' .. s .. '"' end

-- A hash's fields (HGETALL's answer, values JSON already) as a JSON object, less the store's own (".…"). One
-- table.concat: Lua interns every string it makes, so no piece is joined twice.
local function hashJson(f)
  local parts, n = { "{" }, 1
  for i = 1, #f, 2 do
    if string.byte(f[i], 1) ~= 46 then
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

-- Notices the log keeps: about this many of the newest (trimmed by whole nodes, so a few more at times).
local LOG_LENGTH = 10000

-- Keeps a notice in the log and tells every process of it, with its id in the log.
local function publish(kind, rest)
  local sid = redis.call("XADD", P .. "log", "MAXLEN", "~", LOG_LENGTH, "*", "n", kind .. origin .. " " .. rest)
  redis.call("PUBLISH", P .. "events", kind .. origin .. "/" .. sid .. " " .. rest)
end

-- Tells every process of a change, as a delta.
local function notify(kind, id, version, delta)
  publish(kind, id .. " " .. version .. " " .. delta)
end

-- Moves a record between the per-status lists.
local function relist(id, from, to, createdAt)
  if from then redis.call("ZREM", P .. "by:" .. from, id) end
  redis.call("ZADD", P .. "by:" .. to, createdAt, id)
end

-- A task's idempotency key goes with the last trace of the task.
local function forgetKey(id)
  local key = redis.call("HGET", P .. "idem:of", id)
  if key then
    redis.call("HDEL", P .. "idem", key)
    redis.call("HDEL", P .. "idem:of", id)
  end
end

local function bury(id, completedAt, cause)
  local status = statusOf(redis.call("GET", fin(id)))
  redis.call("DEL", fin(id))
  redis.call("ZREM", P .. "done", id)
  redis.call("ZREM", P .. "by:" .. status, id)
  local stone = '{"status":"' .. status .. '","completedAt":' .. completedAt .. ',"evictedAt":' .. ARGV[1] .. '}'
  if tombCapacity > 0 then
    if redis.call("HSET", P .. "tomb", id, stone) == 1 then
      redis.call("ZADD", P .. "tomb:order", redis.call("INCR", P .. "tomb:seq"), id)
    end
  else
    forgetKey(id)
  end
  publish("E", '{"id":"' .. id .. '","cause":"' .. cause .. '",' .. string.sub(stone, 2))
  evicted = evicted + 1
end

local function trimTombstones()
  local extra = redis.call("ZCARD", P .. "tomb:order") - tombCapacity
  if extra > 0 then
    local gone = redis.call("ZPOPMIN", P .. "tomb:order", extra)
    for i = 1, #gone, 2 do
      redis.call("HDEL", P .. "tomb", gone[i])
      forgetKey(gone[i])
    end
  end
end

-- At most this many records are evicted by one script, so that a backlog (a registry idle for long, a threshold
-- lowered) never holds Redis for long: the sweep runs again until it is gone, and reads check the threshold anyway.
local LIMIT = 1000

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

-- Wakes one idle worker of `kind`, in whichever process: sets the kind's marker, which stays one member however
-- many tasks wait.
local function wake(kind) redis.call("ZADD", P .. "w:" .. kind, 0, "w") end

-- Queues a PENDING task, and wakes a worker for it.
local function enqueue(id, kind)
  redis.call("ZADD", P .. "q:" .. kind, redis.call("HINCRBY", P .. "meta", "seq", 1), id)
  redis.call("HINCRBY", P .. "meta", "pending", 1)
  wake(kind)
end

-- What a PROCESSING task's claim leaves behind when it ends: its lease, its token and its reports' numbers.
local function unclaim(id, token)
  redis.call("ZREM", P .. "claims", id)
  redis.call("HDEL", P .. "tok", token)
  redis.call("DEL", P .. "r:" .. id)
end

-- An active record ends as `status` at `completedAt`, with `extra` (a `"name":json` member, the error or reason, or
-- nil):
-- its hash becomes a finished record's JSON, out of the active bookkeeping and into the finished index. `weight` is
-- what it held against the admission limit. Answers the JSON.
local function finish(id, status, completedAt, extra, weight)
  local r = rec(id)
  local f = redis.call("HMGET", r, "id", "kind", "total", "createdAt", "version", "startedAt", "completedSegments",
    "errors", "_tag")
  local version = tonumber(f[5]) + 1
  local started = f[6] and (',"startedAt":' .. f[6]) or ""
  local json = '{"_tag":"' .. status .. '","id":' .. f[1] .. ',"kind":' .. f[2] .. ',"total":' .. f[3] ..
    ',"createdAt":' .. f[4] .. ',"version":' .. version .. started .. ',"completedSegments":' ..
    (f[7] or "[]") .. ',"errors":' .. (f[8] or "[]") .. ',"completedAt":' .. completedAt .. (extra and (',' .. extra) or '') .. '}'
  redis.call("DEL", r)
  redis.call("SET", fin(id), json)
  -- Not HINCRBY by -0, which Lua writes "-0" and Redis refuses as not an integer.
  if weight ~= 0 then redis.call("HINCRBY", P .. "meta", "weight", -weight) end
  redis.call("ZADD", P .. "done", completedAt, id)
  relist(id, string.sub(f[9], 2, -2), status, f[4])
  notify("F", id, version, json)
  return json
end
