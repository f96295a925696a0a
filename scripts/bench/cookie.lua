-- wrk script for scripts/bench-web.sh: every request carries the session cookie, read from the
-- 0600 file named by BENCH_COOKIE_FILE (never given on the command line, where any local user
-- could read it from /proc). conditional.lua does the same for its runs.
local path = os.getenv("BENCH_COOKIE_FILE")
if path then
    local file = io.open(path, "r")
    if file then
        local cookie = file:read("*l")
        file:close()
        if cookie and #cookie > 0 then wrk.headers["Cookie"] = cookie end
    end
end
