-- wrk script of bench/referrals.py: each request joins one new member with an invite code (or, with
-- PATH /api/v1/members, creates one the core's way: the reference for what creating a member costs;
-- with PATH /api/v1/referrals/attributions, attributes members FIRST_MEMBER, FIRST_MEMBER + 1, …,
-- each once, created a moment before by COPY: the attribution alone, without creating the member).
-- Arguments `-- PATH RUN CODE_PREFIX LOW HIGH [FIRST_MEMBER]`: external ids j-RUN-<thread>-<n>, unique across
-- runs and threads (no join is refused as an existing member); the code is CODE_PREFIX .. id, id
-- drawn from [LOW, HIGH], so the joins spread over many inviters. setup() and done() (the WRK_JSON
-- line) are wrk_report.lua's, loaded from the same folder.

local here = debug.getinfo(1, "S").source:match("@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local path, run, prefix, low, high, first_member
local sent = 0

function init(args)
  path, run, prefix, low, high = args[1], args[2], args[3], tonumber(args[4]), tonumber(args[5])
  first_member = tonumber(args[6] or "0")
  wrk.headers["Content-Type"] = "application/json"
  math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
  sent = sent + 1
  if path == "/api/v1/referrals/attributions" then
    local id = first_member + sent - 1  -- one thread (bench/referrals.py runs wrk -t1)
    return wrk.format("POST", path, nil, string.format(
      '{"code":"%s%d","member_id":%d}', prefix, math.random(low, high), id))
  end
  if path == "/api/v1/members" then
    return wrk.format("POST", path, nil, string.format(
      '{"external_id":"m-%s-%d-%d","display_name":"Member %d"}', run, thread_no or 1, sent, sent))
  end
  local body = string.format(
    '{"code":"%s%d","member":{"external_id":"j-%s-%d-%d","display_name":"Friend %d"}}',
    prefix, math.random(low, high), run, thread_no or 1, sent, sent)
  return wrk.format("POST", path, nil, body)
end
