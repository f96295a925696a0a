-- wrk script for scripts/bench-web.sh: behaves like a polling browser. Every connection sends
-- If-None-Match with the last ETag it received, so an unchanged snapshot is answered 304 and a
-- changed one 200 (whose ETag is then used). Counts the statuses and prints them at the end.
-- Every request carries wrk.headers (the session cookie): wrk.format with a header table of its
-- own ignores wrk.headers (it only copies Host), so they are merged here. The byte
-- count of the answers is printed too, to show what the 200s carried.
local threads = {}

-- The session cookie, as cookie.lua (beside this file) sets it.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "cookie.lua")

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    etag = nil
    ok = 0
    not_modified = 0
    other = 0
end

local function with_defaults(extra)
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    for name, value in pairs(extra) do headers[name] = value end
    return headers
end

function request()
    if etag then
        return wrk.format("GET", wrk.path, with_defaults({ ["If-None-Match"] = etag }))
    end
    return wrk.format("GET", wrk.path, with_defaults({}))
end

function response(status, headers, body)
    if status == 304 then
        not_modified = not_modified + 1
    elseif status == 200 then
        ok = ok + 1
        local tag = headers["ETag"] or headers["etag"] or headers["Etag"]
        if tag then etag = tag end
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local total_ok, total_304, total_other = 0, 0, 0
    for _, thread in ipairs(threads) do
        total_ok = total_ok + thread:get("ok")
        total_304 = total_304 + thread:get("not_modified")
        total_other = total_other + thread:get("other")
    end
    io.write(string.format("status_counts: 200=%d 304=%d other=%d\n", total_ok, total_304, total_other))
    io.write(string.format("bytes_read: %d requests=%d\n", summary.bytes, summary.requests))
end
