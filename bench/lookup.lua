-- wrk script: the front desk's lookup, GET /api/v1/clients?q=, cycling through the queries of
-- one kind (phone | name | pinyin) from the fixtures written by `web seed-load`.
-- Usage: wrk ... -s bench/lookup.lua URL -- KIND FIXTURES

local function urlencode(text)
  return (text:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local requests = {}
local next_index = 1

function init(args)
  local kind, file = args[1], args[2]
  for line in io.lines(file) do
    local k, token, q = line:match("^(%w+)\t([^\t]+)\t([^\t]+)$")
    if k == kind then
      requests[#requests + 1] = wrk.format("GET", "/api/v1/clients?limit=20&q=" .. urlencode(q), {
        ["Authorization"] = "Bearer " .. token,
      })
    end
  end
  assert(#requests > 0, "no '" .. tostring(kind) .. "' lines in " .. tostring(file))
  next_index = math.random(#requests)
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
