-- POST /api/v1/tasks with the token given in the TOKEN environment variable.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"name": "Benchmark task", "description": "created by bench", "priority": "high", "tags": ["bench"]}'
