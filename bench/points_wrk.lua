-- wrk script of bench/points.py: each request POSTs {"member_id": N} to the URL's path.
-- Arguments `-- seq LOW` take members LOW, LOW+1, … in turn (one check-in per member and day);
-- `-- random LOW HIGH` draw them uniformly (redemptions). One wrk thread (the harness's default),
-- so the sequence is never shared. setup() and done() (the harness's WRK_JSON line) are
-- wrk_report.lua's, loaded from the same folder.

local here = debug.getinfo(1, "S").source:match("@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

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
