-- Evicts what is due, at most `LIMIT` records a run (the caller runs it again while it evicts that many). Answers `[evicted]`.
evictDue()
return { evicted }
