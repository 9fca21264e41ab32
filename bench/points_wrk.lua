-- wrk script of bench/points.py: each request POSTs {"member_id": N} to the URL's path.
-- Arguments `-- seq LOW` take members LOW, LOW+1, … in turn (one check-in per member and day);
-- `-- random LOW HIGH` draw them uniformly (redemptions). One wrk thread (the harness's default),
-- so the sequence is never shared. done() prints the harness's WRK_JSON line (bench/wrk_report.lua).

local mode, low, high
local sent = 0

function init(args)
  mode, low, high = args[1], tonumber(args[2]), tonumber(args[3] or args[2])
  wrk.headers["Content-Type"] = "application/json"
  math.randomseed(os.time())
end

function request()
  local id
  if mode == "seq" then
    id = low + sent
  else
    id = math.random(low, high)
  end
  sent = sent + 1
  return wrk.format("POST", nil, nil, string.format('{"member_id":%d}', id))
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
