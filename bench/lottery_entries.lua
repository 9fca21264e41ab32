-- wrk script of bench/lottery.py: each request enters one member into a lottery campaign.
-- Arguments `-- PATH FIRST THREADS`: member ids FIRST, FIRST+1, … across all threads, each once, so
-- no request is refused as a second entry. setup() and done() (the WRK_JSON line) are
-- wrk_report.lua's, loaded from the same folder.

local here = debug.getinfo(1, "S").source:match("@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local path, first, threads
local sent = 0

function init(args)
  path, first, threads = args[1], tonumber(args[2]), tonumber(args[3])
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local id = first + sent * threads + ((thread_no or 1) - 1)
  sent = sent + 1
  return wrk.format("POST", path, nil, string.format('{"member_id":%d}', id))
end
