-- wrk script used by bench/harness.py for every load run.
--
-- Without script arguments it requests the URL given to wrk as is. With arguments
-- `-- PREFIX LOW HIGH` each request goes to PREFIX .. id, id drawn uniformly from [LOW, HIGH],
-- so a primary-key lookup does not keep hitting one cached row.
-- When the run ends, done() prints one line `WRK_JSON {...}` that the harness parses.

local started = 0
local prefix, low, high

function setup(thread)
  started = started + 1
  thread:set("thread_no", started)
end

function init(args)
  if #args >= 3 then
    prefix, low, high = args[1], tonumber(args[2]), tonumber(args[3])
  end
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  if prefix then
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
