-- wrk script for scripts/bench-web.sh: behaves like a polling browser. Every connection sends
-- If-None-Match with the last ETag it received, so an unchanged snapshot is answered 304 and a
-- changed one 200 (whose ETag is then used). Counts the statuses and prints them at the end.
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    etag = nil
    ok = 0
    not_modified = 0
    other = 0
end

function request()
    if etag then
        return wrk.format("GET", wrk.path, { ["If-None-Match"] = etag })
    end
    return wrk.format("GET", wrk.path)
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
end
