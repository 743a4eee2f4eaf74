-- wrk script: every request asks the studio for a 1-bar piece (POST /api/takes), to measure how
-- fast the queue answers under a flood: 202 while it has room, 429 with a reason after.
-- wrk -t2 -c50 -d10s --latency -s Benchmarks/studio/flood.lua http://127.0.0.1:8080
wrk.method = "POST"
wrk.path = "/api/takes"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"pretrained","bars":1,"seed":1}'

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
