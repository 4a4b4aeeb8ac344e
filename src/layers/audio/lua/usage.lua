-- Answers `{ bytes held and being removed, tasks }`.
return { num("held") + num("removing"), redis.call("ZCARD", TASKS) }
