-- Sets the wake-up marker of each kind given that has tasks waiting, so that an idle worker of it, in whichever process,
-- claims: the one check a process makes when the connection of its blocking wait is back (a marker that the wait took
-- may have been lost with the connection's answer), and when its workers of those kinds stop.
-- Own args: kinds… Answers how many markers it set.
local set = 0
for i = 3, #ARGV do
  if redis.call("ZCARD", P .. "q:" .. ARGV[i]) > 0 then
    wake(ARGV[i])
    set = set + 1
  end
end
return set
