-- wrk script of bench/contests.py: each request is one member's vote for one entry of a contest.
-- Arguments `-- CONTEST FIRST THREADS FIRST_SUBMISSION SUBMISSIONS`: members FIRST, FIRST+1, … across
-- all threads, each once (so no vote meets a limit), each for an entry picked from the contest's
-- SUBMISSIONS consecutive ids. setup() and done() (the WRK_JSON line) are wrk_report.lua's.

local here = debug.getinfo(1, "S").source:match("@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local contest, first, threads, first_submission, submissions
local sent = 0

function init(args)
  contest, first, threads = args[1], tonumber(args[2]), tonumber(args[3])
  first_submission, submissions = tonumber(args[4]), tonumber(args[5])
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local id = first + sent * threads + ((thread_no or 1) - 1)
  sent = sent + 1
  local submission = first_submission + (id * 7919) % submissions
  local path = string.format("/api/v1/contests/contests/%s/submissions/%d/votes", contest, submission)
  return wrk.format("POST", path, nil, string.format('{"member_id":%d,"source":"10.1.%d.%d"}', id, id % 250, id % 200))
end
