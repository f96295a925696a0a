#!/usr/bin/env python3
"""Small helpers for scripts/bench-web.sh (standard library only).

  helper.py pids DEMO_DIR BLADE          -> "ENGINE WEB NGINX" from DEMO_DIR/demo.json
  helper.py fetch HOST PORT PATH OUT     -> saves the body to OUT, prints "STATUS SIZE ETAG"
  helper.py tree PID                     -> PID and all its descendants, one line
  helper.py poll HOST PORT PATH SECONDS  -> GET once a second for SECONDS (a scraper's load)
  helper.py browser HOST PORT PATH SECONDS INTERVAL
                                         -> polls like the page's script (If-None-Match with the
                                            last ETag every INTERVAL s); prints "REQUESTS NOT_MODIFIED"
"""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from chaos import children_of  # noqa: E402  (scripts/chaos.py: the process tree under /proc)


def pids(directory, blade):
    with open(os.path.join(directory, "demo.json")) as handle:
        state = json.load(handle)
    for entry in state.get("blades", []):
        if int(entry.get("index", 0)) == int(blade):
            print(entry.get("engine", 0), entry.get("web", 0), entry.get("nginx", 0))
            return 0
    print(f"no blade {blade} in {directory}/demo.json", file=sys.stderr)
    return 1


def fetch(host, port, path, out):
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        body = reply.read()
        etag = reply.getheader("ETag") or "-"
    finally:
        connection.close()
    with open(out, "wb") as handle:
        handle.write(body)
    print(reply.status, len(body), etag.replace(" ", "_"))
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


def browser(host, port, path, seconds, interval):
    deadline = time.monotonic() + float(seconds)
    next_time = time.monotonic()
    etag = None
    requests = not_modified = 0
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", path, headers={"If-None-Match": etag} if etag else {})
            reply = connection.getresponse()
            reply.read()
            requests += 1
            if reply.status == 304:
                not_modified += 1
            elif reply.status == 200:
                etag = reply.getheader("ETag") or etag
            connection.close()
        except OSError:
            pass
        next_time += float(interval)
        time.sleep(max(0.0, next_time - time.monotonic()))
    print(requests, not_modified)
    return 0


def main(argv):
    commands = {"pids": (pids, 2), "fetch": (fetch, 4), "tree": (tree, 1), "poll": (poll, 4),
                "browser": (browser, 5)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    return function(*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
