"""Shared fixtures: a real simulated chassis (engines, web apps, nginx) on loopback.

Each blade i listens on 127.0.1.i; the tests use their own port and directory so that they never
touch a developer's `make demo`.
"""
import http.client
import json
import os
import subprocess
import time
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, ".build", "debug")
CTL = os.path.join(BIN, "chassisctl")
PORT = int(os.environ.get("CHASSIS_TEST_PORT", "18080"))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


def request(address, path, method="GET", body=None, headers=None, port=PORT, timeout=5):
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        connection.close()


def wait_until(condition, timeout=20.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except Exception as error:  # a blade restarting refuses connections for a moment
            last = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def ctl(*arguments, check=True):
    result = subprocess.run([CTL, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"chassisctl {' '.join(arguments)} failed: {result.stdout}{result.stderr}")
    return result


class Chassis:
    def __init__(self, blades, directory):
        self.blades = blades
        self.directory = directory

    def address(self, index):
        return f"127.0.1.{index}"

    def get(self, index, path, **kwargs):
        return request(self.address(index), path, **kwargs)

    def demo(self, *arguments, check=True):
        return ctl("demo", *arguments, "--dir", self.directory, check=check)

    def state(self):
        with open(os.path.join(self.directory, "demo.json")) as handle:
            return json.load(handle)

    def log(self, index, name="engine"):
        with open(os.path.join(self.directory, f"blade{index}", f"{name}.log")) as handle:
            return handle.read()


@pytest.fixture(scope="module")
def chassis():
    directory = f"/tmp/chassis-it-{uuid.uuid4().hex[:8]}"
    ctl("demo", "up", "--blades", "1", "--slots", "4", "--dir", directory, "--port", str(PORT), "--peer-port", "7410",
        "--root", ROOT)
    chassis = Chassis(1, directory)
    try:
        yield chassis
    finally:
        ctl("demo", "down", "--dir", directory, check=False)
        subprocess.run(["rm", "-rf", directory], check=False)
