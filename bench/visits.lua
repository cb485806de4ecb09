-- wrk script: recording visits, POST /api/v1/visits, for the clients in the fixtures written by
-- `web seed-load`, each completed "now".
-- Usage: wrk ... -s bench/visits.lua URL -- visit FIXTURES

local targets = {}
local next_index = 1

function init(args)
  local file = args[2]
  for line in io.lines(file) do
    local token, client, store = line:match("^visit\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
    if token then
      targets[#targets + 1] = { token = token, client = client, store = store }
    end
  end
  assert(#targets > 0, "no visit lines in " .. tostring(file))
  next_index = math.random(#targets)
end

function request()
  next_index = next_index % #targets + 1
  local t = targets[next_index]
  local body = string.format(
    '{"client_id":"%s","store_id":"%s","completed_at":"%s","lines":[{"description":"深层补水护理","amount_cents":39800}],"payment_method":"wechat_pay"}',
    t.client, t.store, os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60))
  return wrk.format("POST", "/api/v1/visits", {
    ["Authorization"] = "Bearer " .. t.token,
    ["Content-Type"] = "application/json",
  }, body)
end
