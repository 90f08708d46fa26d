-- POST one of several JSON bodies with one of several bearer tokens, round robin per
-- thread; count answers by status so the runner can report 201/409/errors.
local bodies, tokens = {}, {}
local counter = 0
s201, s409, s429, s4xx, s5xx = 0, 0, 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  for line in io.lines(args[2]) do table.insert(bodies, line) end
  for line in io.lines(args[3]) do table.insert(tokens, line) end
  wrk.method = "POST"
  wrk.path = path
  wrk.headers["Content-Type"] = "application/json"
  counter = id * 7919
end

function request()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  local token = tokens[(counter % #tokens) + 1]
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
  if status == 201 then s201 = s201 + 1
  elseif status == 409 then s409 = s409 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status >= 500 then s5xx = s5xx + 1
  else s4xx = s4xx + 1 end
end

function done(summary, latency, requests)
  local t = {0, 0, 0, 0, 0}
  for _, thread in ipairs(threads) do
    t[1] = t[1] + thread:get("s201")
    t[2] = t[2] + thread:get("s409")
    t[3] = t[3] + thread:get("s429")
    t[4] = t[4] + thread:get("s4xx")
    t[5] = t[5] + thread:get("s5xx")
  end
  io.write(string.format("STATUSES 201=%d 409=%d 429=%d 4xx=%d 5xx=%d\n", t[1], t[2], t[3], t[4], t[5]))
end
