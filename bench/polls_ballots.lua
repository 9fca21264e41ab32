-- wrk script of bench/polls.py: each request casts one member's ballot in a poll of two questions
-- (a single choice of three options and an NPS question). Arguments `-- PATH FIRST THREADS Q1 O1 O2
-- O3 Q2`: member ids FIRST, FIRST+1, … across all threads, each once (no ballot is refused as a
-- second one); the option and the score vary with the member. setup() and done() (the WRK_JSON line)
-- are wrk_report.lua's, loaded from the same folder.

local here = debug.getinfo(1, "S").source:match("@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local path, first, threads, q1, options, q2
local sent = 0

function init(args)
  path, first, threads = args[1], tonumber(args[2]), tonumber(args[3])
  q1, options, q2 = args[4], { args[5], args[6], args[7] }, args[8]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local id = first + sent * threads + ((thread_no or 1) - 1)
  sent = sent + 1
  local body = string.format(
    '{"member_id":%d,"answers":[{"question_id":%s,"option_ids":[%s]},{"question_id":%s,"score":%d}]}',
    id, q1, options[(id % 3) + 1], q2, id % 11)
  return wrk.format("POST", path, nil, body)
end
