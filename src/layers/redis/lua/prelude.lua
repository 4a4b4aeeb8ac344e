-- The Redis registry's atomic steps, one Lua script each. Every script gets the key prefix as its one key (so that
-- a cluster routes it to the prefix's slot: the prefix is a hash tag) and, as its first arguments, the time from
-- Effect's `Clock`, the eviction policy and the calling process's origin; none reads Redis's own clock or uses key
-- TTLs.
--
-- Keys under the prefix P:
-- - `P t:{id}`      hash, an active (PENDING or PROCESSING) record: one field per field of the record, each value JSON
--                   text, so that a script moves a task on by setting a few fields
-- - `P f:{id}`      string, a finished record as JSON text, its status first: it no longer changes, and one string
--                   takes half the memory of a hash of its fields
-- - `P q:{kind}`    zset, PENDING tasks of a kind, scored by arrival (`seq` in `P meta`)
-- - `P claims`      zset, PROCESSING tasks, scored by their lease's deadline
-- - `P done`        zset, the finished index, scored by completedAt (ties by id): eviction walks it from the oldest
-- - `P by:{STATUS}` zset per status, scored by createdAt, for `list`
-- - `P tomb`        hash, id → tombstone JSON; `P tomb:order` zset, id → burial sequence (`P tomb:seq`)
-- - `P meta`        hash: `pending` (count), `weight` (the active tasks' work) and `seq` (arrivals), kept by the scripts
-- Channels: `P events` (a change `C{origin} {id} {record}`, or `W…` when the change left the task waiting for a
-- worker, or an eviction `E{origin} {tombstone}`, where origin names the process that ran the script) and `P lost`
-- (claim tokens no longer current).
--
-- This prelude comes first in every script but stats.lua (Scripts.ts joins them): the arguments every script
-- gets first, and the steps they share.
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

-- A hash's fields (HGETALL's answer, values JSON already) as a JSON object, less those in `skip`, after the
-- members in `first` (JSON text). One table.concat: Lua interns every string it makes, so no piece is joined twice.
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

-- Tells every process of the record's new state (given as `json` when the caller has it); `waiting` when the task
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

-- A record becomes finished: out of the active bookkeeping, into the finished index.
local function finished(id, weight, completedAt)
  -- Not HINCRBY by -0, which Lua writes "-0" and Redis refuses as not an integer, failing the script half-way.
  if weight ~= 0 then redis.call("HINCRBY", P .. "meta", "weight", -weight) end
  redis.call("ZADD", P .. "done", completedAt, id)
end

-- Queues a PENDING task; the caller publishes the change as `waiting`.
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
