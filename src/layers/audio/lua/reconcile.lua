-- Adds files found on disk that the ledger does not count. Args: task id, lastWrite, then segment id, bytes pairs.
-- A file counted already is left as counted; a task whose audio is being removed is not counted again.
if not name(ARGV[1]) then return bad("reconcile.lua", ARGV[1]) end
if not integer(ARGV[2]) then return bad("reconcile.lua", ARGV[2]) end
if #ARGV % 2 ~= 0 then return bad("reconcile.lua", "pairs") end
for i = 3, #ARGV, 2 do
  if not name(ARGV[i]) then return bad("reconcile.lua", ARGV[i]) end
  if not whole(ARGV[i + 1]) then return bad("reconcile.lua", ARGV[i + 1]) end
end
local id, at = ARGV[1], tonumber(ARGV[2])
if redis.call("HEXISTS", RM, id) == 1 then return 0 end
local added = 0
for i = 3, #ARGV, 2 do
  if redis.call("HSETNX", P .. "a:s:" .. id, ARGV[i], ARGV[i + 1]) == 1 then
    local b = tonumber(ARGV[i + 1])
    redis.call("HINCRBY", BYTES, id, b)
    redis.call("HINCRBY", META, "held", b)
    added = added + 1
  end
end
if added > 0 then
  local last = redis.call("ZSCORE", TASKS, id)
  if not last or tonumber(last) < at then redis.call("ZADD", TASKS, at, id) end
end
return added
