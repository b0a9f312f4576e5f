-- GET with the token given in the TOKEN environment variable (path from the command line).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
