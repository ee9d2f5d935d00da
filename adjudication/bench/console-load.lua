-- wrk script: adjudicators browsing and claiming on the console.
-- Reads sessions.txt (one "cookie csrf" line per logged-in user) and cases.txt (case ids).
-- Each request is, at random: the queue page (30 %), a case page (45 %), the JSON queue
-- (10 %), or a claim followed later by its release (15 %, as POSTs with the CSRF header).
local sessions, cases = {}, {}
for line in io.lines("sessions.txt") do
  local c, t = line:match("^(%S+)%s+(%S+)$")
  sessions[#sessions + 1] = { cookie = c, csrf = t }
end
for line in io.lines("cases.txt") do cases[#cases + 1] = line end

local counter = 0
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

request = function()
  counter = counter + 1
  local s = sessions[(counter % #sessions) + 1]
  local headers = { ["Cookie"] = "tunggal_session=" .. s.cookie }
  local r = math.random()
  local case = cases[math.random(#cases)]
  if r < 0.30 then
    return wrk.format("GET", "/queue", headers)
  elseif r < 0.75 then
    return wrk.format("GET", "/cases/" .. case, headers)
  elseif r < 0.85 then
    return wrk.format("GET", "/api/cases", headers)
  else
    headers["X-CSRF-Token"] = s.csrf
    headers["Content-Type"] = "application/json"
    local action = (math.random() < 0.5) and "claim" or "release"
    return wrk.format("POST", "/api/cases/" .. case .. "/" .. action, headers, "{}")
  end
end

-- 409 (someone else holds the case) is an expected answer under contention, not an error.
local unexpected = 0
response = function(status, headers, body)
  if status >= 500 or status == 401 or status == 403 then unexpected = unexpected + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("requests %d, socket errors %d, non-2xx/3xx %d\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  for _, p in ipairs({ 50, 90, 99 }) do
    io.write(string.format("p%d latency %.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
