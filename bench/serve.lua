-- serve.lua: wrk script: POST /recommend with real registration-day request
-- bodies, one per line of the file named by BODIES, round-robin per thread.
local bodies = {}
local path = os.getenv("BODIES")
for line in io.lines(path) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/recommend", nil, bodies[i])
end
