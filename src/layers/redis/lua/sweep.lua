-- Evicts what is due, at most `LIMIT` records a run (the caller runs it again while it evicts that many). Answers
-- `[evicted]` or `["nopolicy"]`.
if not usePolicy() then return NO_POLICY end
evictDue()
return { evicted }
