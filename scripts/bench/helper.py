#!/usr/bin/env python3
"""Small helpers for scripts/bench-web.sh (standard library only).

Every HTTPS request verifies the server's certificate against CAFILE (the demo's ca.crt) and its
address; verification is never turned off. A COOKIE_FILE holds one line "chassis_session=VALUE"
(written by `login`, mode 0600), or is "-" for none; cookies never go on a command line here.

  helper.py pids DEMO_DIR BLADE          -> "ENGINE WEB NGINX" from DEMO_DIR/demo.json
  helper.py login HOST PORT CAFILE PASSWORD_FILE COOKIE_FILE
                                         -> logs in as admin (POST /api/v1/session with the
                                            password read from PASSWORD_FILE and an Origin naming
                                            https://HOST:PORT), writes the session cookie to
                                            COOKIE_FILE, prints "STATUS"
  helper.py fetch HOST PORT PATH OUT CAFILE COOKIE_FILE
                                         -> HTTPS GET; saves the body to OUT, prints
                                            "STATUS SIZE ETAG CONTENT_TYPE"
  helper.py tree PID                     -> PID and all its descendants, one line
  helper.py poll HOST PORT PATH SECONDS  -> plain-HTTP GET once a second for SECONDS (a scraper's
                                            load on the reference exporter)
  helper.py browser HOST PORT PATH SECONDS INTERVAL CAFILE COOKIE_FILE
                                         -> one open overview tab, as Public/app.js behaves: one
                                            kept-alive HTTPS connection, the session cookie (and
                                            the renewed one when an answer sets it), PATH every
                                            INTERVAL s with If-None-Match and the last ETag, plus
                                            GET /api/v1/session every 10 s and POST
                                            /api/v1/session/ticket every 30 s; prints
                                            "POLLS NOT_MODIFIED OTHER_REQUESTS FAILED RENEWED"
                                            (FAILED: any answer other than 200/304, or no answer)
"""
import http.client
import json
import os
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chaos import children_of  # noqa: E402  (scripts/chaos.py: the process tree under /proc)

COOKIE_NAME = "chassis_session"
USER = "admin"


def pids(directory, blade):
    with open(os.path.join(directory, "demo.json")) as handle:
        state = json.load(handle)
    for entry in state.get("blades", []):
        if int(entry.get("index", 0)) == int(blade):
            print(entry.get("engine", 0), entry.get("web", 0), entry.get("nginx", 0))
            return 0
    print(f"no blade {blade} in {directory}/demo.json", file=sys.stderr)
    return 1


def tls_connection(host, port, cafile, timeout=10):
    # create_default_context: CERT_REQUIRED and check_hostname (an address is checked against the
    # certificate's IP addresses), trusting only the chassis authority.
    context = ssl.create_default_context(cafile=cafile)
    return http.client.HTTPSConnection(host, int(port), timeout=timeout, context=context)


def origin(host, port):
    return f"https://{host}" if int(port) == 443 else f"https://{host}:{int(port)}"


def read_cookie(path):
    if path == "-":
        return None
    with open(path) as handle:
        return handle.read().strip() or None


def session_cookie(reply):
    """The chassis_session=VALUE pair an answer sets, or None."""
    for header in reply.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0].strip()
        if pair.startswith(COOKIE_NAME + "=") and len(pair) > len(COOKIE_NAME) + 1:
            return pair
    return None


def login(host, port, cafile, password_file, cookie_file):
    with open(password_file) as handle:
        password = handle.read().strip()
    body = json.dumps({"user": USER, "password": password})
    connection = tls_connection(host, port, cafile)
    try:
        connection.request("POST", "/api/v1/session", body=body,
                           headers={"Content-Type": "application/json", "Origin": origin(host, port)})
        reply = connection.getresponse()
        reply.read()
    finally:
        connection.close()
    cookie = session_cookie(reply)
    if reply.status != 200 or cookie is None:
        print(f"login as {USER} on https://{host}:{port}: HTTP {reply.status}, "
              f"{'a' if cookie else 'no'} {COOKIE_NAME} cookie", file=sys.stderr)
        print(reply.status)
        return 1
    descriptor = os.open(cookie_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(cookie + "\n")
    print(reply.status)
    return 0


def fetch(host, port, path, out, cafile, cookie_file):
    cookie = read_cookie(cookie_file)
    connection = tls_connection(host, port, cafile)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        reply = connection.getresponse()
        body = reply.read()
        etag = reply.getheader("ETag") or "-"
        content_type = (reply.getheader("Content-Type") or "-").split(";", 1)[0].strip()
    finally:
        connection.close()
    with open(out, "wb") as handle:
        handle.write(body)
    print(reply.status, len(body), etag.replace(" ", "_"), content_type)
    return 0


def tree(pid):
    print(" ".join(str(p) for p in [int(pid)] + children_of(int(pid))))
    return 0


def poll(host, port, path, seconds):
    deadline = time.monotonic() + float(seconds)
    next_time = time.monotonic()
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
        except OSError:
            pass
        next_time += 1.0
        time.sleep(max(0.0, next_time - time.monotonic()))
    return 0


def browser(host, port, path, seconds, interval, cafile, cookie_file):
    """One open tab. Like a browser it keeps its connection alive (nginx's keepalive_timeout is
    longer than the 2 s between polls), reconnecting only when the connection is gone, and
    stores a renewed session cookie (the app renews it once a minute of use)."""
    cookie = read_cookie(cookie_file)
    if cookie is None:
        print("browser: no session cookie", file=sys.stderr)
        return 1
    start = time.monotonic()
    deadline = start + float(seconds)
    # (interval, next due time, what): the poll, the member list, the transfer ticket.
    schedule = [[float(interval), start, "poll"], [10.0, start, "session"], [30.0, start, "ticket"]]
    etag = None
    connection = None
    polls = not_modified = other_requests = failed = renewed = 0

    def request(method, target, headers):
        nonlocal connection, cookie, renewed
        headers = dict(headers, Cookie=cookie)
        for attempt in (1, 2):  # once more on a fresh connection if the kept one was closed
            if connection is None:
                connection = tls_connection(host, port, cafile, timeout=5)
            try:
                connection.request(method, target, headers=headers)
                reply = connection.getresponse()
                reply.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = None
                if attempt == 2:
                    raise
                continue
            fresh = session_cookie(reply)
            if fresh and fresh != cookie:
                cookie = fresh
                renewed += 1
            if reply.will_close:
                connection.close()
                connection = None
            return reply
        return None

    while True:
        now = time.monotonic()
        due = min(schedule, key=lambda item: item[1])
        if due[1] >= deadline:
            break
        if due[1] > now:
            time.sleep(due[1] - now)
        due[1] += due[0]
        try:
            if due[2] == "poll":
                reply = request("GET", path, {"If-None-Match": etag} if etag else {})
                polls += 1
                if reply.status == 304:
                    not_modified += 1
                elif reply.status == 200:
                    etag = reply.getheader("ETag") or etag
                else:
                    failed += 1
            elif due[2] == "session":
                reply = request("GET", "/api/v1/session", {})
                other_requests += 1
                failed += reply.status != 200
            else:
                reply = request("POST", "/api/v1/session/ticket", {"Origin": origin(host, port)})
                other_requests += 1
                failed += reply.status != 200
        except (OSError, http.client.HTTPException):
            failed += 1
            if due[2] == "poll":
                polls += 1
            else:
                other_requests += 1
    if connection is not None:
        connection.close()
    print(polls, not_modified, other_requests, failed, renewed)
    return 0


def main(argv):
    commands = {"pids": (pids, 2), "login": (login, 5), "fetch": (fetch, 6), "tree": (tree, 1),
                "poll": (poll, 4), "browser": (browser, 7)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    return function(*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
