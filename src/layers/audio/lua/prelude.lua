-- The audio ledger's atomic steps, one Lua script each, kept beside the registry under its prefix (its one key), so
-- that every process sharing the registry and one AUDIO_DIR shares one count. Every script checks its arguments
-- before its first write.
--
-- Keys under the prefix P:
-- - `P a:meta`    hash: `held` (bytes of files recorded), `removing` (bytes of audio being removed, still on disk),
--                 `reserved` (bytes of writes under way), `budget` (AUDIO_MAX_BYTES, stored by the first process)
-- - `P a:tasks`   zset, task id → when its last file was written: the oldest go first
-- - `P a:bytes`   hash, task id → its bytes
-- - `P a:s:{id}`  hash, segment id → bytes of its file
-- - `P a:res`     hash, reservation token → bytes; `P a:res:ttl` zset, token → when it lapses (Redis's clock)
-- - `P a:rm`      hash, task id → bytes being removed; `P a:rm:ttl` zset, task id → when it lapses
-- A task is active while the registry holds its record `P t:{id}`: its audio is never picked.
-- Reservations and removals lapse after a minute, so that a process that died mid-write does not hold room forever.
local P = KEYS[1]
local META, TASKS, BYTES = P .. "a:meta", P .. "a:tasks", P .. "a:bytes"
local RES, RESTTL, RM, RMTTL = P .. "a:res", P .. "a:res:ttl", P .. "a:rm", P .. "a:rm:ttl"
local TTL = 60000

local function whole(s) return s ~= nil and string.match(s, "^%d+$") ~= nil end
local function integer(s) return s ~= nil and string.match(s, "^%-?%d+$") ~= nil end
local function name(s) return s ~= nil and #s <= 64 and string.match(s, "^[%w_%-]+$") ~= nil end
local function bad(script, what) return redis.error_reply(script .. ": bad argument: " .. tostring(what)) end

local function redisNow()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function num(field) return tonumber(redis.call("HGET", META, field) or "0") end

-- Drops reservations and removals that lapsed (their process stopped before ending them).
local function purge(now)
  for _, k in ipairs({ { RES, RESTTL, "reserved" }, { RM, RMTTL, "removing" } }) do
    for _, member in ipairs(redis.call("ZRANGEBYSCORE", k[2], "-inf", now, "LIMIT", 0, 100)) do
      local b = tonumber(redis.call("HGET", k[1], member) or "0")
      redis.call("HDEL", k[1], member)
      redis.call("ZREM", k[2], member)
      redis.call("HINCRBY", META, k[3], -b)
    end
  end
end

-- The stored budget; this process's (`ours`) is stored when none is.
local function budgetOr(ours)
  local b = redis.call("HGET", META, "budget")
  if b then return tonumber(b) end
  redis.call("HSET", META, "budget", ours)
  return tonumber(ours)
end

-- Moves a task's audio from held to being removed; false if the ledger holds none.
local function take(id, now)
  local b = redis.call("HGET", BYTES, id)
  if not b then return false end
  b = tonumber(b)
  redis.call("HDEL", BYTES, id)
  redis.call("ZREM", TASKS, id)
  redis.call("DEL", P .. "a:s:" .. id)
  redis.call("HINCRBY", RM, id, b)
  redis.call("ZADD", RMTTL, now + TTL, id)
  redis.call("HINCRBY", META, "held", -b)
  redis.call("HINCRBY", META, "removing", b)
  return true
end

-- Takes finished tasks' audio, least recently written first, while `more(lastWrite)` holds; at most `limit`.
local function takeWhile(more, limit, now)
  local victims, from = {}, 0
  while #victims < limit do
    local batch = redis.call("ZRANGE", TASKS, from, from + 99, "WITHSCORES")
    if #batch == 0 then break end
    for i = 1, #batch, 2 do
      if #victims >= limit or not more(tonumber(batch[i + 1])) then return victims end
      local id = batch[i]
      if redis.call("EXISTS", P .. "t:" .. id) == 0 then
        take(id, now)
        victims[#victims + 1] = id
      else
        from = from + 1
      end
    end
  end
  return victims
end
