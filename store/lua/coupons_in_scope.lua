-- Scope test shared by the claim and redeem scripts: '' = the owner store only, 'all', or a csv list.
local function in_scope(stores, owner, store)
  if stores == false or stores == nil or stores == '' then return store == owner end
  if stores == 'all' then return true end
  return string.find(',' .. stores .. ',', ',' .. store .. ',', 1, true) ~= nil
end
