-- POST /api/v1/tasks at a fixed pace per connection (INTERVAL_MS between requests) and print the
-- position and event time of every created task, for the projection-lag measurement.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"name": "Paced task", "priority": "low"}'
local interval = tonumber(os.getenv("INTERVAL_MS"))

function delay()
  return interval
end

function response(status, headers, body)
  if status == 201 then
    local position = body:match('"position":(%d+)')
    local created = body:match('"created_at":"([^"]+)"')
    io.write("POS " .. position .. " " .. created .. "\n")
  end
end
