-- wrk script for scripts/tsan.sh: a mixed load on every kind of answer chassis-web gives, so that
-- its worker threads share its caches (snapshot, encoded bodies, sessions, access state) in as
-- many ways as possible while ThreadSanitizer watches. Run with four wrk threads (-t4):
--
--   1. an admin's session (TSAN_ADMIN_COOKIE_FILE): every path below; every 97th request renames
--      the chassis and every 89th moves a CPU threshold across the current value, so alerts are
--      raised and cleared (notifications, the event log) and every cache is refreshed under load;
--   2. a customer's session (TSAN_CUSTOMER_COOKIE_FILE): the same paths, answered as its
--      projection of the chassis or 403;
--   3. no session: 401, 303 to the login page, the health check;
--   4. sessions coming and going (user "operator", TSAN_OPERATOR_PASSWORD_FILE): log in, who am
--      I, a transfer ticket, the ticket redeemed, pages and documents with the new session, log
--      out, the ended cookie refused, over again; a request a second per connection (a login's
--      scrypt takes seconds of a worker under TSan).
--
-- Every seventh request of threads 1 to 3 polls the chassis document with the last ETag it had
-- (a 304 when the data version did not move), and every 53rd asks for a transfer ticket. Counts
-- the answers by status and prints them at the end.

local paths = {
    "/", "/chassis/660007770088/slots/1", "/api/v1/chassis", "/api/v1/chassis/660007770088/slots/1",
    "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation", "/api/v1/chassis/660007770088/slots/2",
    "/api/v1/local", "/api/v1/cluster", "/api/v1/alerts", "/api/v1/thresholds", "/health/active", "/metrics",
    "/api/v1/session", "/api/v1/users", "/api/v1/tokens", "/api/v1/login-locks", "/api/v1/audit", "/users",
    "/audit", "/thresholds", "/api/v1/intervals", "/settings", "/alerts", "/api/v1/events", "/events",
    "/api/v1/notifications", "/notifications", "/api/v1/maintenance", "/manager", "/api/v1/replication",
    "/no-such-page", "/api/v1/no-such-thing",
}

local threads = {}
local classes = { "s200", "s304", "s3xx", "s401", "s403", "s404", "s429", "s4xx", "s5xx" }

local function read_first_line(variable)
    local path = os.getenv(variable)
    if not path then return "" end
    local file = io.open(path, "r")
    if not file then return "" end
    local line = file:read("*l") or ""
    file:close()
    return line
end

local admin_cookie = read_first_line("TSAN_ADMIN_COOKIE_FILE")
local customer_cookie = read_first_line("TSAN_CUSTOMER_COOKIE_FILE")
local operator_password = read_first_line("TSAN_OPERATOR_PASSWORD_FILE")

function setup(thread)
    table.insert(threads, thread)
    local role = #threads
    thread:set("role", role)
    thread:set("cookie", ({ admin_cookie, customer_cookie, "", "" })[(role - 1) % 4 + 1])
    thread:set("password", operator_password)
end

function init(args)
    counter = role * 13
    chassis_etag = nil
    renames = 0
    step = 0
    origin = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port
end

local function headers(extra)
    local out = {}
    for name, value in pairs(wrk.headers) do out[name] = value end
    if cookie ~= "" then out["Cookie"] = cookie end
    for name, value in pairs(extra) do out[name] = value end
    return out
end

-- Thread 4: one step of a session's life after another.
local session_steps = 20
local function session_request()
    step = step % session_steps + 1
    if step == 1 then
        cookie = ""
        local body = string.format('{"user":"operator","password":"%s"}', password)
        return wrk.format("POST", "/api/v1/session", headers({ ["Content-Type"] = "application/json", ["Origin"] = origin }), body)
    elseif step == 2 then
        return wrk.format("GET", "/api/v1/session", headers({}))
    elseif step == 3 then
        return wrk.format("POST", "/api/v1/session/ticket", headers({ ["Origin"] = origin }), "")
    elseif step == 4 then
        local encoded = (ticket or "none"):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end)
        local body = "next=%2F&ticket=" .. encoded
        return wrk.format("POST", "/session/transfer",
            { ["Content-Type"] = "application/x-www-form-urlencoded", ["Origin"] = origin }, body)
    elseif step == session_steps - 1 then
        ended = cookie
        return wrk.format("DELETE", "/api/v1/session", headers({ ["Origin"] = origin }))
    elseif step == session_steps then
        return wrk.format("GET", "/api/v1/chassis", headers({ ["Cookie"] = ended or "" }))
    end
    return wrk.format("GET", paths[(step * 7) % #paths + 1], headers({}))
end

function delay()
    if role == 4 then return 1000 end
    return 0
end

function request()
    if role == 4 then return session_request() end
    counter = counter + 1
    if role == 1 and counter % 97 == 0 then
        renames = renames + 1
        local body = string.format('{"name":"TSan chassis %d"}', renames)
        return wrk.format("PATCH", "/api/v1/chassis", headers({ ["Content-Type"] = "application/json", ["Origin"] = origin }), body)
    end
    if role == 1 and counter % 89 == 0 then
        -- 0 raises a warning on every blade's CPU, 1000 clears it.
        local limit = math.floor(counter / 89) % 2 == 0 and 0 or 1000
        local body = string.format(
            '{"scope":"global","metricKey":"cpu.total.utilisation","limits":{"highWarning":%d}}', limit)
        return wrk.format("PUT", "/api/v1/thresholds", headers({ ["Content-Type"] = "application/json", ["Origin"] = origin }), body)
    end
    if counter % 53 == 0 and cookie ~= "" then
        return wrk.format("POST", "/api/v1/session/ticket", headers({ ["Origin"] = origin }), "")
    end
    -- A browser's poll of the chassis document: unchanged since the last one, a 304.
    if counter % 7 == 0 and chassis_etag then
        return wrk.format("GET", "/api/v1/chassis", headers({ ["If-None-Match"] = chassis_etag }))
    end
    return wrk.format("GET", paths[counter % #paths + 1], headers({}))
end

function response(status, response_headers, body)
    -- Answers come back on several connections: the chassis document is known by its keys.
    if status == 200 and body:find('"chassisMetrics":', 1, true) then
        chassis_etag = response_headers["ETag"] or response_headers["etag"] or chassis_etag
    end
    if role == 4 then
        local set = response_headers["Set-Cookie"] or response_headers["set-cookie"]
        if set then
            local pair = set:match("^(chassis_session=[^;]+)")
            if pair then cookie = pair end
        end
        if step == 3 and status == 200 then ticket = body:match('"ticket":"([^"]+)"') end
    end
    local class
    if status == 200 or status == 304 or status == 401 or status == 403 or status == 404 or status == 429 then
        class = "s" .. status
    else
        class = "s" .. math.floor(status / 100) .. "xx"
    end
    _G[class] = (_G[class] or 0) + 1
end

function done(summary, latency, requests)
    local line = "statuses:"
    for _, class in ipairs(classes) do
        local total = 0
        for _, thread in ipairs(threads) do total = total + (thread:get(class) or 0) end
        line = line .. " " .. class:sub(2) .. "=" .. total
    end
    io.write(line .. "\n")
end
