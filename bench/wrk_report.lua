-- wrk script used by bench/harness.py for every load run.
--
-- Without script arguments it requests the URL given to wrk as is. With arguments
-- `-- PREFIX LOW HIGH` each request goes to PREFIX .. id, id drawn uniformly from [LOW, HIGH],
-- so a primary-key lookup does not keep hitting one cached row.
-- With arguments `-- event PATH LOW HIGH RUN` each request POSTs one event (a JSON object) to PATH:
-- a random member id from [LOW, HIGH] and the idempotency key w-RUN-<thread>-<n>, so no two
-- requests of any run share a key (the harness passes a fresh RUN to every wrk invocation).
-- When the run ends, done() prints one line `WRK_JSON {...}` that the harness parses.

local started = 0
local mode, prefix, low, high, run
local sent = 0

function setup(thread)
  started = started + 1
  thread:set("thread_no", started)
end

function init(args)
  if args[1] == "event" and #args >= 5 then
    mode, prefix, low, high, run = "event", args[2], tonumber(args[3]), tonumber(args[4]), args[5]
    wrk.headers["Content-Type"] = "application/json"
  elseif #args >= 3 then
    mode, prefix, low, high = "path", args[1], tonumber(args[2]), tonumber(args[3])
  end
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  if mode == "event" then
    sent = sent + 1
    local body = string.format(
      '{"member_id":%d,"type":"page.view","properties":{"page":"/p/%d","n":%d},"idempotency_key":"w-%s-%d-%d"}',
      math.random(low, high), sent % 100, sent % 10, run, thread_no or 0, sent
    )
    return wrk.format("POST", prefix, nil, body)
  elseif mode == "path" then
    return wrk.format(nil, prefix .. math.random(low, high))
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
      .. '"connect_errors":%.0f,"read_errors":%.0f,"write_errors":%.0f,"status_errors":%.0f,"timeouts":%.0f,'
      .. '"latency_us":{"mean":%.1f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
