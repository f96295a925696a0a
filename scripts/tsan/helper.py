#!/usr/bin/env python3
"""Helpers for scripts/tsan.sh (standard library only).

  helper.py login HOST PORT CAFILE USER PASSWORD_FILE COOKIE_FILE
        logs USER in (POST /api/v1/session over HTTPS, the certificate verified against CAFILE),
        writes "chassis_session=VALUE" to COOKIE_FILE (mode 0600), prints the status
  helper.py request HOST PORT CAFILE COOKIE_FILE METHOD PATH JSON
        one HTTPS request with the session cookie, JSON as its body (with an Origin naming
        https://HOST:PORT, as a browser's write); prints the status
  helper.py slowlane SOCKET SECONDS HOST
        for SECONDS, talks FastCGI straight to chassis-web's unix socket the way a slow or broken
        local client would, so that the app's slow lane works while wrk keeps its workers busy:
        request heads sent in pieces with pauses (served by the slow lane), several requests on
        one kept connection, connections closed in the middle of a head, and non-FastCGI bytes.
        Prints "REQUESTS ANSWERED BROKEN FAILED" at the end: heads sent, answers read, connections
        broken off or not FastCGI on purpose, and requests that got no answer (or an error).
"""
import json
import os
import random
import socket
import ssl
import struct
import sys
import http.client
import time

COOKIE_NAME = "chassis_session"


def login(host, port, cafile, user, password_file, cookie_file):
    with open(password_file) as handle:
        password = handle.read().strip()
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection(host, int(port), timeout=30, context=context)
    try:
        connection.request("POST", "/api/v1/session", body=json.dumps({"user": user, "password": password}),
                           headers={"Content-Type": "application/json", "Origin": f"https://{host}:{int(port)}"})
        reply = connection.getresponse()
        reply.read()
    finally:
        connection.close()
    cookie = None
    for header in reply.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0].strip()
        if pair.startswith(COOKIE_NAME + "=") and len(pair) > len(COOKIE_NAME) + 1:
            cookie = pair
    print(reply.status)
    if reply.status != 200 or cookie is None:
        print(f"login as {user}: HTTP {reply.status}, {'a' if cookie else 'no'} cookie", file=sys.stderr)
        return 1
    descriptor = os.open(cookie_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(cookie + "\n")
    return 0


def request(host, port, cafile, cookie_file, method, path, body):
    with open(cookie_file) as handle:
        cookie = handle.read().strip()
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection(host, int(port), timeout=30, context=context)
    try:
        connection.request(method, path, body=body, headers={
            "Content-Type": "application/json", "Origin": f"https://{host}:{int(port)}", "Cookie": cookie})
        reply = connection.getresponse()
        text = reply.read()
    finally:
        connection.close()
    print(reply.status)
    if reply.status >= 300:
        print(text.decode(errors="replace")[:300], file=sys.stderr)
        return 1
    return 0


# --- FastCGI records ------------------------------------------------------------------------------
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER, KEEP_CONN = 1, 1


def record(kind, request_id, content):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), padding) + content + b"\0" * padding


def length(value):
    return bytes([value]) if value < 128 else struct.pack(">I", value | 0x80000000)


def params(pairs):
    out = b""
    for name, value in pairs:
        name, value = name.encode(), value.encode()
        out += length(len(name)) + length(len(value)) + name + value
    return out


def request_bytes(request_id, path, host, keep):
    pairs = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("SCRIPT_NAME", path.split("?")[0]),
             ("QUERY_STRING", path.split("?", 1)[1] if "?" in path else ""), ("CONTENT_LENGTH", ""),
             ("REMOTE_ADDR", "127.0.0.1"), ("HTTPS", "on"), ("HTTP_HOST", host),
             ("SERVER_SOFTWARE", "tsan-slowlane"), ("GATEWAY_INTERFACE", "CGI/1.1")]
    head = record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
    head += record(PARAMS, request_id, params(pairs)) + record(PARAMS, request_id, b"")
    return head + record(STDIN, request_id, b"")


def read_answer(connection):
    """Reads records until END_REQUEST; True when one came."""
    buffer = b""
    while True:
        while len(buffer) >= 8:
            _, kind, _, size, padding = struct.unpack(">BBHHBx", buffer[:8])
            if len(buffer) < 8 + size + padding:
                break
            buffer = buffer[8 + size + padding:]
            if kind == END_REQUEST:
                return True
        chunk = connection.recv(65536)
        if not chunk:
            return False
        buffer += chunk


def slowlane(path, seconds, host):
    paths = ["/health/active", "/api/v1/local", "/api/v1/chassis", "/", "/no-such-page"]
    deadline = time.monotonic() + float(seconds)
    requests = answered = broken = failed = 0
    rng = random.Random(11)
    while time.monotonic() < deadline:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(10)
        try:
            connection.connect(path)
            mode = rng.randrange(4)
            if mode == 3:
                # Not FastCGI at all: the app closes it at once (with the bytes unread: a reset).
                broken += 1
                try:
                    connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    connection.recv(16)
                except ConnectionResetError:
                    pass
                continue
            for request_id in range(1, 4):
                data = request_bytes(request_id, rng.choice(paths), host, keep=request_id < 3)
                # The head in three pieces with pauses: the worker that peeks sees half a head and
                # hands the connection to the slow lane.
                cut = sorted(rng.sample(range(1, len(data) - 1), 2))
                pieces = [data[:cut[0]], data[cut[0]:cut[1]], data[cut[1]:]]
                requests += 1
                if mode == 2 and request_id == 2:
                    connection.sendall(pieces[0])
                    time.sleep(rng.uniform(0.01, 0.1))
                    broken += 1
                    break  # closed in the middle of a head
                for piece in pieces:
                    connection.sendall(piece)
                    time.sleep(rng.uniform(0.005, 0.08))
                started = time.monotonic()
                try:
                    answer = read_answer(connection)
                except OSError as error:
                    answer = error
                if answer is True:
                    answered += 1
                else:
                    failed += 1
                    print(f"request {request_id} of a connection: {answer or 'closed by the app'} "
                          f"after {time.monotonic() - started:.2f} s", file=sys.stderr)
                    break
        except OSError as error:
            failed += 1
            print(f"connection: {error}", file=sys.stderr)
        finally:
            connection.close()
    print(requests, answered, broken, failed)
    return 0


def main(argv):
    if len(argv) == 8 and argv[1] == "login":
        return login(*argv[2:])
    if len(argv) == 9 and argv[1] == "request":
        return request(*argv[2:])
    if len(argv) == 5 and argv[1] == "slowlane":
        return slowlane(argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
