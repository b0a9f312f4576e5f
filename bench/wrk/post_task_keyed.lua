-- POST /api/v1/tasks with a new Idempotency-Key on every request (TOKEN and RUN, a nonce, from
-- the environment): every request is a first use of its key, so each pays the lookup and the
-- recording of its answer.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"name": "Benchmark task", "description": "created by bench", "priority": "high", "tags": ["bench"]}'
local made = 0
local counter = 0

function setup(thread)
  made = made + 1
  thread:set("tid", made)
end

request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. os.getenv("RUN") .. "-" .. tid .. "-" .. counter
  return wrk.format()
end
