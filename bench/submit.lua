-- wrk script: POST prepared survey submissions, each one once, and count the outcomes.
-- Lines of the file named by env SUBMISSIONS: path \t cookie \t urlencoded body.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  requests_list, accepted, other, next_index = {}, 0, 0, 1
  local n = 0
  for line in io.lines(os.getenv("SUBMISSIONS")) do
    if n % nthreads == id then
      local path, cookie, body = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
      table.insert(requests_list, wrk.format("POST", path, {
        ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}, body))
    end
    n = n + 1
  end
end

function request()
  if next_index > #requests_list then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  local r = requests_list[next_index]
  next_index = next_index + 1
  return r
end

function response(status, headers, body)
  if status == 303 then accepted = accepted + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("accepted"); o = o + t:get("other") end
  io.write(string.format("RESULT accepted=%d other=%d p50=%d p95=%d p99=%d max=%d\n", a, o,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
