-- Stores this process's budget if none is stored; answers the stored one. Args: ours.
if not whole(ARGV[1]) then return bad("budget.lua", ARGV[1]) end
return budgetOr(ARGV[1])
