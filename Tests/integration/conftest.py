"""Shared fixtures: a real simulated chassis (engines, web apps, nginx) on loopback.

Each blade i listens on 127.0.1.i; the tests use their own port and directory so that they never
touch a developer's `make demo`.
"""
import http.client
import json
import os
import subprocess
import sys
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


# --- headless Chromium (test_browser.py, test_browser_failover.py) -------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def selenium_modules():
    """Imports selenium, installing it with pip when it is missing (as `make deps` does)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "selenium"], check=True)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    return webdriver, Service


def require_browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.skip(f"{path} is not installed (Debian packages chromium and chromium-driver; make deps)")


@pytest.fixture()
def driver():
    """A headless Chromium that keeps the browser console's entries."""
    require_browser()
    os.environ["SE_AVOID_STATS"] = "true"
    webdriver, Service = selenium_modules()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()
