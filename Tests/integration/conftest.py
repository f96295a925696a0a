"""Shared fixtures and helpers: a real simulated chassis (engines, web apps, nginx over HTTPS with
the chassis' own certificate authority) on loopback, and clients that log in like people and
scripts do.

Each blade i listens on 127.0.1.i. Every module starts its demos on its own HTTP, HTTPS and peer
ports and in its own directory, so that the tests never touch a developer's `make demo` (8080,
8443, 7400) nor each other. Requests go over HTTPS and verify the blade's certificate against
the demo's `ca.crt` (never with checks turned off); only `/health/active`, `/ca.crt` and the
redirect to HTTPS are asked over plain HTTP.
"""
import contextlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from json import dumps as json_dumps

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, ".build", "debug")
CTL = os.path.join(BIN, "chassisctl")
CHASSIS_ID = "660007770088"
COOKIE = "chassis_session"


# --- HTTP and HTTPS ------------------------------------------------------------------------------

class Response:
    def __init__(self, status, header_list, body):
        self.status = status
        self.header_list = header_list  # [(lower-cased name, value)], repeated headers kept
        self.headers = {name: value for name, value in header_list}
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def set_cookies(self):
        """The Set-Cookie headers as {name: (value, [attributes])}."""
        cookies = {}
        for name, value in self.header_list:
            if name == "set-cookie":
                first, *attributes = [part.strip() for part in value.split(";")]
                cookie, _, cookie_value = first.partition("=")
                cookies[cookie] = (cookie_value, attributes)
        return cookies


_contexts = {}


def tls_context(ca_file):
    """A client context that trusts the chassis CA only, and checks the certificate and the name
    (the blade's address) as any browser does."""
    key = (ca_file, os.path.getmtime(ca_file))
    if key not in _contexts:
        context = ssl.create_default_context(cafile=ca_file)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        _contexts[key] = context
    return _contexts[key]


def request(address, path, method="GET", body=None, headers=None, port=None, timeout=5, ca=None, source=None):
    """One request on a new connection: HTTPS verified against the CA file `ca` when it is given,
    plain HTTP otherwise. `source` binds the client's own address (a loopback address), so a test
    can come from a client address of its own. Headers whose value is None are not sent."""
    assert port is not None, "every demo of the tests has its own ports"
    source_address = (source, 0) if source else None
    if ca:
        connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=tls_context(ca),
                                                 source_address=source_address)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout, source_address=source_address)
    try:
        connection.request(method, path, body=body, headers={k: v for k, v in (headers or {}).items() if v is not None})
        reply = connection.getresponse()
        return Response(reply.status, [(k.lower(), v) for k, v in reply.getheaders()], reply.read())
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


def stop_process(process, seconds=10):
    """Ends a process this test started (SIGTERM, then SIGKILL after `seconds`) and reaps it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


def ctl(*arguments, check=True, input=None, timeout=120):
    result = subprocess.run([CTL, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"chassisctl {' '.join(arguments)} failed: {result.stdout}{result.stderr}")
    return result


# --- credentials ---------------------------------------------------------------------------------

class Token:
    """An API token (`cm_ID_SECRET`) sent as `Authorization: Bearer …`: no cookie, no Origin."""

    def __init__(self, text):
        assert text.startswith("cm_"), text
        self.text = text
        self.id = text.split("_")[1]
        self.secret = text.split("_", 2)[2]

    def headers(self, method, origin):
        return {"Authorization": f"Bearer {self.text}"}

    def absorb(self, reply):
        pass


class Session:
    """A user logged in with `POST /api/v1/session`: carries the session cookie to every blade
    (any blade verifies it) and adds the `Origin` of the blade it writes to, as a browser does."""

    def __init__(self, chassis, user, password):
        self.chassis = chassis
        self.user = user
        self.password = password
        self.cookie = None

    def login(self, index=None, source=None, password=None):
        index = index or self.chassis.active_index()
        reply = self.chassis.request(index, "/api/v1/session", method="POST", source=source,
                                     json={"user": self.user, "password": self.password if password is None else password},
                                     headers={"Origin": self.chassis.origin(index)})
        self.absorb(reply)
        return reply

    def headers(self, method, origin):
        headers = {"Cookie": f"{COOKIE}={self.cookie}"} if self.cookie else {}
        if method not in ("GET", "HEAD"):
            headers["Origin"] = origin
        return headers

    def absorb(self, reply):
        """Keeps a renewed cookie; forgets a cleared one."""
        cookie = reply.set_cookies.get(COOKIE)
        if cookie:
            value, attributes = cookie
            self.cookie = None if (not value or "Max-Age=0" in attributes) else value

    def get(self, index, path, **keywords):
        return self.chassis.request(index, path, auth=self, **keywords)


# --- a running demo ------------------------------------------------------------------------------

class Chassis:
    """A `chassisctl demo` on its own ports and directory."""

    def __init__(self, blades, directory, port, tls_port, peer_port):
        self.blades = blades
        self.directory = directory
        self.port = port
        self.tls_port = tls_port
        self.peer_port = peer_port
        self._admin = None

    @staticmethod
    def address(index):
        return f"127.0.1.{index}"

    def origin(self, index):
        return f"https://{self.address(index)}:{self.tls_port}"

    @property
    def ca(self):
        return os.path.join(self.directory, "ca.crt")

    def request(self, index, path, method="GET", body=None, json=None, headers=None, auth=None, **keywords):
        """HTTPS to blade `index`, with `auth` (a Session or a Token) when given."""
        sent = {}
        if json is not None:
            body = json_dumps(json)
            sent["Content-Type"] = "application/json"
        if auth is not None:
            sent.update(auth.headers(method, self.origin(index)))
        sent.update(headers or {})
        reply = request(self.address(index), path, method=method, body=body, headers=sent, port=self.tls_port,
                        ca=self.ca, **keywords)
        if auth is not None:
            auth.absorb(reply)
        return reply

    get = request

    def http(self, index, path, **keywords):
        """Plain HTTP: /health/active, /ca.crt and the redirect to HTTPS."""
        return request(self.address(index), path, port=self.port, **keywords)

    def health(self, index, timeout=0.5):
        try:
            return self.http(index, "/health/active", timeout=timeout).status
        except OSError:
            return None

    def active_index(self, timeout=10.0, exclude=()):
        def find():
            for index in range(1, self.blades + 1):
                if index not in exclude and self.health(index) == 200:
                    return index
            return None
        return wait_until(find, timeout=timeout, interval=0.05, what="an active manager")

    def password(self, user):
        with open(os.path.join(self.directory, f"{user}-password")) as handle:
            return handle.read().strip()

    def session(self, user="admin", password=None, index=None):
        """A logged-in session of `user` (the demo's admin or customer-a by default password)."""
        session = Session(self, user, password or self.password(user))
        reply = session.login(index)
        assert reply.status == 200, f"login of {user}: {reply.status} {reply.text}"
        assert session.cookie
        return session

    @property
    def admin(self):
        if self._admin is None:
            self._admin = self.session("admin")
        return self._admin

    def token(self, user="admin", label="integration test"):
        """A new API token of `user`, created with chassisctl on the active manager (control
        requests are proposed there)."""
        active = self.active_index()
        result = ctl("token", "create", user, "--label", label, "--blade", str(active), "--demo-dir", self.directory)
        return Token(result.stdout.strip().splitlines()[-1])

    def demo(self, *arguments, check=True):
        return ctl("demo", *arguments, "--dir", self.directory, check=check)

    def state(self):
        with open(os.path.join(self.directory, "demo.json")) as handle:
            return json.load(handle)

    def runtime_root(self):
        return os.path.dirname(self.state()["blades"][0]["runtimeDirectory"])

    def log(self, index, name="engine"):
        with open(os.path.join(self.directory, f"blade{index}", f"{name}.log")) as handle:
            return handle.read()


@contextlib.contextmanager
def demo_chassis(blades, port, tls_port, peer_port, slots=4, witness=False, name="chassis-it", extra=None):
    """Starts a demo of `blades` blades on its own ports and directory; takes it down after.
    `extra`: more arguments of `chassisctl demo up` (`--chassis-number 2`)."""
    directory = f"/tmp/{name}-{uuid.uuid4().hex[:8]}"
    arguments = ["demo", "up", "--blades", str(blades), "--dir", directory, "--port", str(port), "--tls-port", str(tls_port),
                 "--peer-port", str(peer_port), "--root", ROOT]
    if slots:
        arguments += ["--slots", str(slots)]
    if witness:
        arguments.append("--witness")
    arguments += extra or []
    try:
        ctl(*arguments)
        yield Chassis(blades, directory, port, tls_port, peer_port)
    finally:
        ctl("demo", "down", "--dir", directory, check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def chassis():
    """One blade (test_single_blade.py)."""
    with demo_chassis(1, port=18080, tls_port=18143, peer_port=7410) as one:
        yield one


# --- headless Chromium (test_browser.py, test_browser_failover.py) -------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CERTUTIL = "/usr/bin/certutil"


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
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"), (CERTUTIL, "libnss3-tools")):
        if not os.path.exists(path):
            pytest.skip(f"{path} is not installed (Debian package {package}; make deps)")


@contextlib.contextmanager
def chromium(ca_file, performance_log=False, more_ca_files=()):
    """A headless Chromium that trusts the chassis CA (and nothing more: certificate checks stay
    on) and keeps the browser console's entries. Chromium on Linux reads the NSS database under
    $HOME/.pki/nssdb, so the browser runs with a HOME of its own whose database trusts the CA."""
    require_browser()
    os.environ["SE_AVOID_STATS"] = "true"
    webdriver, Service = selenium_modules()
    home = tempfile.mkdtemp(prefix="chassis-chromium-")
    try:
        database = os.path.join(home, ".pki", "nssdb")
        os.makedirs(database)
        subprocess.run([CERTUTIL, "-d", f"sql:{database}", "-N", "--empty-password"], check=True, capture_output=True)
        for number, path in enumerate([ca_file, *more_ca_files]):
            subprocess.run([CERTUTIL, "-d", f"sql:{database}", "-A", "-t", "C,,", "-n", f"chassis-ca-{number}", "-i", path],
                           check=True, capture_output=True)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                         f"--user-data-dir={home}/profile"):
            options.add_argument(argument)
        prefs = {"browser": "ALL"}
        if performance_log:
            prefs["performance"] = "ALL"
        options.set_capability("goog:loggingPrefs", prefs)
        service = Service(executable_path=CHROMEDRIVER, env=dict(os.environ, HOME=home))
        browser = webdriver.Chrome(service=service, options=options)
        try:
            yield browser
        finally:
            browser.quit()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def browser_login(browser, url, user, password):
    """Opens `url`, which sends an anonymous browser to the login page, and logs in with the form."""
    browser.get(url)
    wait_until(lambda: browser.execute_script("return location.pathname") == "/login"
               and browser.execute_script("return document.readyState") == "complete",
               timeout=15, interval=0.1, what=f"{url} to show the login page")
    landed = browser.current_url
    browser.find_element("name", "user").send_keys(user)
    browser.find_element("name", "password").send_keys(password)
    browser.find_element("css selector", "form.login-form button[type=submit]").click()
    wait_until(lambda: browser.execute_script("return location.pathname") != "/login"
               and browser.execute_script("return document.readyState") == "complete"
               and browser.execute_script("return !!document.querySelector('[data-user]')"),
               timeout=15, interval=0.1, what="the page after logging in")
    return landed
