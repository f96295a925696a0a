#!/usr/bin/env python3
"""Chaos rounds against a simulated chassis of real processes.

Each round faults a random minority of the blades at once (SIGKILL + restart, SIGSTOP + SIGCONT of
the engine, a packet-level partition, or 30 % packet loss on the peer link between two blades),
holds the faults 1 to 4 s, heals them, and then checks:

- never two blades answering 200 on /health/active in the same 20 ms polling round (a poller
  runs for the whole run);
- an active manager within 5 s of the heal;
- every blade's /api/v1/local agreeing on the active address and the term within a few seconds;
- every configuration change the active manager acknowledged (one attempted during the faults,
  one after the heal, each with a key unique to the run and round) present in every blade's
  config.db afterwards, and still present at the end of the run.

Partitions and loss are nftables rules in table `inet chassis_chaos`, scoped to this chassis's
peer port so that other demos on the same 127.0.1.x addresses are untouched (`--demo-partition`
uses `chassisctl demo partition` instead, which cuts every packet between the addresses).

Prints one line a round and, last, exactly `chaos: rounds=R faults=F violations=V`; exits 1 if
V > 0 (2 if the chassis could not be set up). Every random choice comes from `--seed`, so a run
can be replayed as far as real processes and real timing allow.

The chassis is read the way an operator's scripts read it: /health/active over plain HTTP (the
load balancers' check), everything else over HTTPS, verified against the demo's chassis CA
(`ca.crt`), with API tokens created with chassisctl once the chassis is up: a viewer's for
/api/v1/local and /metrics, an operator's for the configuration changes.

The module also holds the small harness that scripts/bench_*.py and Tests/integration/test_chaos.py
import: HTTP helpers, a demo wrapper and the active-manager poller.
"""
import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
NFT_TABLE = "chassis_chaos"


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

class Reply:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def request(address, port, path, method="GET", body=None, headers=None, timeout=2.0, context=None):
    """One request on a new connection, over HTTPS when given a TLS client context (which checks
    the blade's certificate and address); raises OSError (refused, timed out, a certificate
    refused) like http.client."""
    if context is not None:
        connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        connection.close()


def try_request(*arguments, **keywords):
    try:
        return request(*arguments, **keywords)
    except (OSError, http.client.HTTPException):
        return None


def wait_until(condition, timeout, interval=0.05):
    """Calls condition() until it returns something true; returns (value, seconds) or (None, seconds)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            value = condition()
        except Exception:  # a blade restarting refuses connections for a moment
            value = None
        if value:
            return value, time.monotonic() - started
        if time.monotonic() >= deadline:
            return None, time.monotonic() - started
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------

class KeptConnection:
    """GETs over one kept HTTPS connection to the demo's `address` with `headers` (a benchmark's
    API client): the body of a 200, an error for anything else."""

    def __init__(self, cluster, address, headers):
        self.connection = http.client.HTTPSConnection(address, cluster.tls_port, context=cluster.context, timeout=10)
        self.headers = headers

    def get(self, path):
        self.connection.request("GET", path, headers=self.headers)
        reply = self.connection.getresponse()
        body = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status} {body[:200]!r}")
        return body

    def every_blade_reported(self, blades, timeout=60):
        """Waits until the first `blades` slots of /api/v1/chassis have reported; False if not in time."""
        def reported():
            document = json.loads(self.get("/api/v1/chassis"))
            return all(slot.get("lastReportAt") for slot in document["slots"][:blades])
        return wait_until(reported, timeout)[0] is not None

    def close(self):
        self.connection.close()


def binary_directory(build):
    """`release`, `debug`, or `auto` (release if built, else debug)."""
    if build == "auto":
        release = os.path.join(ROOT, ".build", "release", "chassisctl")
        build = "release" if os.access(release, os.X_OK) else "debug"
    directory = os.path.join(ROOT, ".build", build)
    if not os.access(os.path.join(directory, "chassisctl"), os.X_OK):
        raise SystemExit(f"{directory}/chassisctl is not built (run: swift build{' -c release' if build == 'release' else ''})")
    return directory


BINARIES = ("chassisctl", "chassis-engine", "chassis-web")
# Copied too when built (the demo runs it only with --snmp-port).
OPTIONAL_BINARIES = ("chassis-snmp",)


def snapshot_binaries(bin_dir, directory):
    """Copies the three binaries into `directory` and returns it: `chassisctl` starts the engine
    and web app from its own directory, so a rebuild of .build/ during a long run (another
    developer's `swift build`) cannot mix two versions of the product in one chassis."""
    os.makedirs(directory, exist_ok=True)
    for name in BINARIES:
        shutil.copy2(os.path.join(bin_dir, name), os.path.join(directory, name))
    for name in OPTIONAL_BINARIES:
        if os.access(os.path.join(bin_dir, name), os.X_OK):
            shutil.copy2(os.path.join(bin_dir, name), os.path.join(directory, name))
    return directory


def describe_binaries(bin_dir):
    """The engine's build time and a short hash, to tell which build produced the figures."""
    import hashlib
    path = os.path.join(bin_dir, "chassis-engine")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(path)))
    return f"engine built {built} UTC sha256 {digest.hexdigest()[:12]}"


class DemoCluster:
    """A `chassisctl demo` chassis in its own directory and ports (HTTPS on `tls_port`, by
    default the HTTP port + 1000)."""

    def __init__(self, blades, directory, port, peer_port, bin_dir, slots=None, tls_port=None, extra=()):
        self.blades = blades
        self.extra = list(extra)  # more arguments of `demo up` (`--snmp-port N`)
        self.directory = directory
        self.port = port
        self.tls_port = tls_port or port + 1000
        self.peer_port = peer_port
        self.ctl_path = os.path.join(bin_dir, "chassisctl")
        self.slots = slots
        self.started = False
        self.context = None         # trusts the demo's chassis CA once it is up
        self.viewer_token = None    # reads: /api/v1/local, /metrics, /api/v1/chassis
        self.operator_token = None  # configuration changes

    # -- processes ------------------------------------------------------------------------------

    def ctl(self, *arguments, check=True, timeout=180, input=None):
        result = subprocess.run([self.ctl_path, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                                input=input)
        if check and result.returncode != 0:
            raise RuntimeError(f"chassisctl {' '.join(arguments)} failed ({result.returncode}): "
                               f"{result.stdout.strip()} {result.stderr.strip()}")
        return result

    def demo(self, *arguments, check=True, timeout=180):
        return self.ctl("demo", *arguments, "--dir", self.directory, check=check, timeout=timeout)

    def up(self):
        if os.path.exists(os.path.join(self.directory, "demo.json")):
            self.demo("down", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        arguments = ["up", "--blades", str(self.blades), "--port", str(self.port), "--tls-port", str(self.tls_port),
                     "--peer-port", str(self.peer_port), "--root", ROOT]
        if self.slots:
            arguments += ["--slots", str(self.slots)]
        arguments += self.extra
        self.started = True
        self.demo(*arguments, timeout=300)
        self.context = ssl.create_default_context(cafile=os.path.join(self.directory, "ca.crt"))
        self.viewer_token = self.create_token("chaos-viewer", "viewer")
        self.operator_token = self.create_token("chaos-operator", "operator")

    def create_token(self, user, role):
        """Adds `user` with `role` (a random password, given on standard input and forgotten) and
        returns a new API token of it; both through chassisctl on the active manager."""
        active, _ = wait_until(self.find_active, 15)
        if active is None:
            raise RuntimeError("no active manager to add the scripts' users to")
        target = ("--blade", str(active), "--demo-dir", self.directory)
        self.ctl("user", "add", user, "--role", role, "--password-stdin", *target, input=secrets.token_urlsafe(24) + "\n")
        return self.ctl("token", "create", user, "--label", "scripts/chaos.py", *target).stdout.strip().splitlines()[-1]

    def down(self, remove=True):
        if not self.started:
            return
        self.started = False
        state = None
        try:
            state = self.state()
        except Exception:
            pass
        if state:  # a paused engine ignores SIGTERM until it is resumed
            for blade in state["blades"]:
                pid = blade.get("engine") or 0
                if pid > 0 and process_is(pid, "chassis-engine"):
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except OSError:
                        pass
        try:
            self.demo("down", check=False, timeout=120)
        except Exception as error:
            print(f"warning: demo down failed: {error}", file=sys.stderr)
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)

    def state(self):
        with open(os.path.join(self.directory, "demo.json")) as handle:
            return json.load(handle)

    def blade_state(self, index):
        return next(b for b in self.state()["blades"] if b["index"] == index)

    def engine_pid(self, index):
        return self.blade_state(index)["engine"]

    def signal_engine(self, index, number):
        """SIGSTOP / SIGCONT of the blade's engine only (`demo pause` / `demo resume`)."""
        pid = self.engine_pid(index)
        if pid > 0 and process_is(pid, "chassis-engine"):
            os.kill(pid, number)

    def sigkill(self, index):
        """SIGKILL the blade's engine, web app and nginx (master and workers) at once, from here,
        so that the moment of the kill is known to the microsecond; `demo start` reaps and
        restarts them. Returns the monotonic time just before the first signal."""
        blade = self.blade_state(index)
        pids = [blade["engine"], blade["web"], blade["nginx"]]
        workers = children_of(blade["nginx"])
        started = time.monotonic()
        for pid in pids + workers:
            if pid and pid > 0:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return started

    # -- addresses and HTTP ---------------------------------------------------------------------

    @staticmethod
    def address(index):
        return f"127.0.1.{index}"

    def indices(self):
        return list(range(1, self.blades + 1))

    def get(self, index, path, timeout=2.0, token=None, headers=None, **keywords):
        """HTTPS to blade `index` with a bearer token (the viewer's unless another is given)."""
        headers = dict(headers or {}, Authorization=f"Bearer {token or self.viewer_token}")
        return request(self.address(index), self.tls_port, path, timeout=timeout, headers=headers, context=self.context,
                       **keywords)

    def try_get(self, index, path, **keywords):
        try:
            return self.get(index, path, **keywords)
        except (OSError, http.client.HTTPException):
            return None

    def local(self, index, timeout=1.0):
        reply = self.try_get(index, "/api/v1/local", timeout=timeout)
        if reply is None or reply.status != 200:
            return None
        try:
            return reply.json()
        except ValueError:
            return None

    def health_active(self, index, timeout=0.3):
        reply = try_request(self.address(index), self.port, "/health/active", timeout=timeout)
        return reply is not None and reply.status == 200

    def find_active(self, exclude=()):
        for index in self.indices():
            if index not in exclude and self.health_active(index):
                return index
        return None

    def agreement(self):
        """(active index, term) if every blade answers /api/v1/local and they all agree on the
        active address and the term, exactly one is active with a valid lease and the others are
        standbys; otherwise None."""
        views = {}
        for index in self.indices():
            view = self.local(index)
            if view is None:
                return None
            views[index] = view
        terms = {v.get("term") for v in views.values()}
        actives = {v.get("activeAddress") for v in views.values()}
        if len(terms) != 1 or len(actives) != 1 or None in actives:
            return None
        active_address = actives.pop()
        roles = {index: v.get("role") for index, v in views.items()}
        active = [index for index, role in roles.items() if role == "active"]
        if len(active) != 1 or self.address(active[0]) != active_address:
            return None
        if not views[active[0]].get("leaseValid"):
            return None
        if any(role != "standby" for index, role in roles.items() if index != active[0]):
            return None
        return active[0], terms.pop()

    def views(self):
        return {index: self.local(index) for index in self.indices()}

    # -- configuration --------------------------------------------------------------------------

    def config_db(self, index):
        return os.path.join(self.directory, f"blade{index}", "state", "config.db")

    def threshold_keys(self, index):
        connection = sqlite3.connect(f"file:{self.config_db(index)}?mode=ro", uri=True, timeout=2)
        try:
            return {row[0] for row in connection.execute("SELECT metric_key FROM thresholds")}
        finally:
            connection.close()

    def put_threshold(self, index, key, timeout=5.0):
        body = json.dumps({"scope": "global", "metricKey": key, "limits": {"highCritical": 1000}})
        return self.try_get(index, "/api/v1/thresholds", method="PUT", body=body, token=self.operator_token,
                            headers={"Content-Type": "application/json"}, timeout=timeout)

    # -- metrics --------------------------------------------------------------------------------

    def peer_bytes_sent(self, index):
        reply = self.try_get(index, "/metrics", timeout=5)
        if reply is None or reply.status != 200:
            return None
        own = f'slot="{index}"'
        fallback = None
        for line in reply.body.decode("utf-8", "replace").splitlines():
            if line.startswith("chassis_peer_bytes_sent_total"):
                value = float(line.rsplit(" ", 1)[1])
                if own in line:
                    return value
                fallback = value
        return fallback


class signals_held:
    """Ignores SIGINT and SIGTERM inside the block (the clean-up of a run), restoring them after."""

    def __enter__(self):
        self.saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
        if threading.current_thread() is threading.main_thread():
            for number in self.saved:
                signal.signal(number, signal.SIG_IGN)
        return self

    def __exit__(self, *exception):
        if threading.current_thread() is threading.main_thread():
            for number, handler in self.saved.items():
                signal.signal(number, handler)
        return False


def remove_runtime_directory(directory):
    """`chassisctl demo down` leaves the demo's runtime directory (metrics.db and sockets, tens of
    MB on the /dev/shm tmpfs) behind; remove this demo's own."""
    path = f"/dev/shm/chassis-demo-{os.getuid()}" + os.path.abspath(directory).replace("/", "_")
    shutil.rmtree(path, ignore_errors=True)


def children_of(pid):
    """Direct and indirect children of pid (nginx workers)."""
    if not pid or pid <= 0:
        return []
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
    result, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in result:
                result.append(child)
                frontier.append(child)
    return result


def process_is(pid, name):
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() == name
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Never two active managers: the poller
# ---------------------------------------------------------------------------------------------

class ActivePoller(threading.Thread):
    """Polls every blade's /health/active, round after round, every 20 ms (as the integration
    tests' poller). Records rounds in which two blades answered 200, and every change of the set
    of blades answering 200 (to measure how long the chassis went without an active manager)."""

    def __init__(self, addresses, port, interval=0.02, timeout=0.3):
        super().__init__(daemon=True)
        self.addresses = addresses
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.rounds = 0
        self.double_active = []  # (wall time, monotonic start, round duration, [addresses])
        self.transitions = []    # (monotonic, tuple of active addresses)

    def run(self):
        last = None
        while not self.stop_event.is_set():
            started = time.monotonic()
            active = []
            for address in self.addresses:
                reply = try_request(address, self.port, "/health/active", timeout=self.timeout)
                if reply is not None and reply.status == 200:
                    active.append(address)
            finished = time.monotonic()
            with self.lock:
                if len(active) > 1:
                    self.double_active.append((time.time(), started, finished - started, active))
                current = tuple(active)
                if current != last:
                    self.transitions.append((started, current))
                    last = current
                self.rounds += 1
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self):
        self.stop_event.set()
        self.join(timeout=5)

    def doubles_since(self, count):
        with self.lock:
            return list(self.double_active[count:])

    def longest_gap(self, since, until):
        """Longest stretch in [since, until] during which no blade answered 200."""
        with self.lock:
            transitions = list(self.transitions)
        longest, gap_start = 0.0, None
        state_before = ()
        for moment, active in transitions:
            if moment <= since:
                state_before = active
        if not state_before:
            gap_start = since
        for moment, active in transitions:
            if moment <= since or moment > until:
                continue
            if not active and gap_start is None:
                gap_start = moment
            elif active and gap_start is not None:
                longest = max(longest, moment - gap_start)
                gap_start = None
        if gap_start is not None:
            longest = max(longest, until - gap_start)
        return longest


# ---------------------------------------------------------------------------------------------
# Packet loss (nftables; netem does not exist on this kernel)
# ---------------------------------------------------------------------------------------------

class Loss:
    """30 % random loss on the peer link between two blades: only the engines' peer port, so the
    pollers and any other demo on the same addresses are untouched."""

    def __init__(self, cluster, a, b, percent=30):
        self.cluster = cluster
        self.a, self.b = sorted((a, b))
        self.percent = percent
        self.chain = f"loss_{cluster.peer_port}_{self.a}_{self.b}"

    def apply(self):
        port = self.cluster.peer_port
        one, two = DemoCluster.address(self.a), DemoCluster.address(self.b)
        rules = []
        for source, destination in ((one, two), (two, one)):
            for side in ("dport", "sport"):
                rules.append(f"        ip saddr {source} ip daddr {destination} meta l4proto {{ tcp, udp }} "
                             f"th {side} {port} numgen random mod 100 < {self.percent} drop")
        script = (f"table inet {NFT_TABLE} {{\n    chain {self.chain} {{\n"
                  f"        type filter hook output priority 0; policy accept;\n" + "\n".join(rules) + "\n    }\n}\n")
        result = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"nft refused the loss rules: {result.stderr.strip()}")

    def remove(self):
        subprocess.run(["nft", "delete", "chain", "inet", NFT_TABLE, self.chain], capture_output=True, timeout=10)


class Partition:
    """Cuts a blade's peer traffic from every other blade of this chassis: as `chassisctl demo
    partition`, but only on this chassis's peer port (the demo's rule cuts every packet between
    the addresses, which also partitions any other demo on 127.0.1.x, and any other demo's `demo
    down` deletes it). Web traffic is untouched, as with the demo's rule, so pollers still see
    what the cut-off blade answers."""

    def __init__(self, cluster, blade):
        self.cluster = cluster
        self.blade = blade
        self.chain = f"part_{cluster.peer_port}_{blade}"

    def apply(self):
        port = self.cluster.peer_port
        me = DemoCluster.address(self.blade)
        peers = ", ".join(DemoCluster.address(i) for i in self.cluster.indices() if i != self.blade)
        rules = []
        for side in ("dport", "sport"):
            rules.append(f"        ip saddr {me} ip daddr {{ {peers} }} meta l4proto {{ tcp, udp }} th {side} {port} drop")
            rules.append(f"        ip saddr {{ {peers} }} ip daddr {me} meta l4proto {{ tcp, udp }} th {side} {port} drop")
        script = (f"table inet {NFT_TABLE} {{\n    chain {self.chain} {{\n"
                  f"        type filter hook output priority 0; policy accept;\n" + "\n".join(rules) + "\n    }\n}\n")
        result = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"nft refused the partition rules: {result.stderr.strip()}")

    def remove(self):
        subprocess.run(["nft", "delete", "chain", "inet", NFT_TABLE, self.chain], capture_output=True, timeout=10)


def foreign_partitions():
    """Chains of `chassisctl demo partition` in place right now (ours or another demo's), as
    evidence when a check fails: they cut every packet between blade addresses."""
    listing = subprocess.run(["nft", "-j", "list", "table", "inet", "chassis_demo"], capture_output=True, text=True)
    if listing.returncode != 0:
        return []
    try:
        return [item["chain"]["name"] for item in json.loads(listing.stdout).get("nftables", []) if "chain" in item]
    except ValueError:
        return []


def remove_own_nft_chains(peer_port):
    """Removes every loss chain of this peer port, and the table if nothing else is left in it."""
    listing = subprocess.run(["nft", "-j", "list", "table", "inet", NFT_TABLE], capture_output=True, text=True)
    if listing.returncode != 0:
        return
    try:
        items = json.loads(listing.stdout).get("nftables", [])
    except ValueError:
        return
    chains = [item["chain"]["name"] for item in items if "chain" in item]
    for chain in chains:
        if chain.startswith((f"loss_{peer_port}_", f"part_{peer_port}_")):
            subprocess.run(["nft", "delete", "chain", "inet", NFT_TABLE, chain], capture_output=True)
    if all(chain.startswith((f"loss_{peer_port}_", f"part_{peer_port}_")) for chain in chains):
        subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE], capture_output=True)


# ---------------------------------------------------------------------------------------------
# The chaos run
# ---------------------------------------------------------------------------------------------

FAULT_KINDS = ("kill", "pause", "partition", "loss")


class Fault:
    def __init__(self, kind, blade, peer=None):
        self.kind = kind
        self.blade = blade
        self.peer = peer
        self.loss = None
        self.partition = None
        self.applied = False

    def __str__(self):
        return f"loss {self.blade}<->{self.peer}" if self.kind == "loss" else f"{self.kind} {self.blade}"


class Chaos:
    def __init__(self, cluster, rng, log=print, hold_min=1.0, hold_max=4.0, active_timeout=5.0, agree_timeout=5.0,
                 replicate_timeout=5.0, demo_partition=False):
        self.cluster = cluster
        self.demo_partition = demo_partition
        self.rng = rng
        self.log = log
        self.hold_min = hold_min
        self.hold_max = hold_max
        self.active_timeout = active_timeout
        self.agree_timeout = agree_timeout
        self.replicate_timeout = replicate_timeout
        self.violations = []
        self.faults = 0
        self.acknowledged = []  # keys the active manager acknowledged, all rounds
        self.open_faults = []
        self.poller = None
        self.tag = f"s{rng.randrange(1 << 30)}"

    def violation(self, round_number, what):
        foreign = foreign_partitions()
        if foreign:
            what += f" [chassisctl demo partitions in place at that moment: {foreign}]"
        self.violations.append((round_number, what))
        self.log(f"  VIOLATION round {round_number}: {what}")

    # -- faults ---------------------------------------------------------------------------------

    def choose_faults(self):
        blades = self.cluster.indices()
        minority = (len(blades) - 1) // 2
        count = self.rng.randint(1, minority)
        active = self.cluster.find_active()
        # Half of the rounds hit the active manager: that is where the protocol earns its keep.
        if active is not None and self.rng.random() < 0.5:
            targets = [active] + self.rng.sample([b for b in blades if b != active], count - 1)
        else:
            targets = self.rng.sample(blades, count)
        faults = []
        for blade in targets:
            kind = self.rng.choice(FAULT_KINDS)
            peer = self.rng.choice([b for b in blades if b != blade]) if kind == "loss" else None
            faults.append(Fault(kind, blade, peer))
        return faults, active

    def apply(self, fault):
        cluster = self.cluster
        if fault.kind == "kill":
            cluster.sigkill(fault.blade)
        elif fault.kind == "pause":
            # As `chassisctl demo pause` does, but without starting a process: on a machine short
            # of memory, starting chassisctl alone has taken minutes.
            cluster.signal_engine(fault.blade, signal.SIGSTOP)
        elif fault.kind == "partition" and self.demo_partition:
            cluster.demo("partition", str(fault.blade))
        elif fault.kind == "partition":
            fault.partition = Partition(cluster, fault.blade)
            fault.partition.apply()
        elif fault.kind == "loss":
            fault.loss = Loss(cluster, fault.blade, fault.peer)
            fault.loss.apply()
        fault.applied = True
        self.open_faults.append(fault)

    def heal(self, fault):
        cluster = self.cluster
        if fault.kind == "kill":
            cluster.demo("start", str(fault.blade))
        elif fault.kind == "pause":
            cluster.signal_engine(fault.blade, signal.SIGCONT)
        elif fault.kind == "partition" and self.demo_partition:
            cluster.demo("heal", str(fault.blade))
        elif fault.kind == "partition":
            fault.partition.remove()
        elif fault.kind == "loss":
            fault.loss.remove()
        if fault in self.open_faults:
            self.open_faults.remove(fault)

    def heal_everything(self):
        """Best effort, for the way out: resume, heal, remove loss (restarts are not needed)."""
        for fault in list(self.open_faults):
            try:
                if fault.kind != "kill":
                    self.heal(fault)
            except BaseException as error:  # noqa: B036
                self.log(f"warning: could not heal {fault}: {error!r}")

    # -- checks ---------------------------------------------------------------------------------

    def put_while_faulted(self, key, result):
        """Sends a change to whichever blade answers as the active manager right now."""
        started = time.monotonic()
        active = self.cluster.find_active()
        if active is None:
            result["outcome"] = "no-active"
            return
        reply = self.cluster.put_threshold(active, key, timeout=5.0)
        result["blade"] = active
        result["ms"] = (time.monotonic() - started) * 1000
        result["outcome"] = f"{reply.status}" if reply is not None else "no-reply"
        result["acked"] = reply is not None and reply.status in (200, 201)

    def present_everywhere(self, key):
        def check():
            return all(key in self.cluster.threshold_keys(i) for i in self.cluster.indices())
        found, took = wait_until(check, self.replicate_timeout, interval=0.1)
        return bool(found), took

    def missing_on(self, key):
        missing = []
        for index in self.cluster.indices():
            try:
                if key not in self.cluster.threshold_keys(index):
                    missing.append(index)
            except sqlite3.Error as error:
                missing.append(f"{index} ({error})")
        return missing

    # -- one round ------------------------------------------------------------------------------

    def round(self, number):
        cluster = self.cluster
        doubles_before = len(self.poller.double_active) if self.poller else 0
        faults, active_before = self.choose_faults()
        hold = self.rng.uniform(self.hold_min, self.hold_max)
        write_at = self.rng.uniform(0.2, max(0.3, hold - 0.2))
        during_key = f"chaos.{self.tag}.r{number}.during"
        after_key = f"chaos.{self.tag}.r{number}.after"
        round_started = time.monotonic()
        for fault in faults:
            self.apply(fault)
            self.faults += 1
        applied = time.monotonic()
        # One change attempted while the faults hold: if acknowledged, it must survive them.
        during = {"outcome": "not-sent", "acked": False}
        time.sleep(max(0.0, write_at - (time.monotonic() - applied)))
        writer = threading.Thread(target=self.put_while_faulted, args=(during_key, during), daemon=True)
        writer.start()
        time.sleep(max(0.0, hold - (time.monotonic() - applied)))
        held = time.monotonic() - applied
        # Heal: quick ones first, restarts last (each `demo start` waits for its blade to answer).
        for fault in sorted(faults, key=lambda f: f.kind == "kill"):
            self.heal(fault)
        healed = time.monotonic()
        heal_seconds = healed - applied - held

        # 1. An active manager within 5 s of the heal.
        active_after, took_active = wait_until(lambda: cluster.find_active(), self.active_timeout, interval=0.05)
        if active_after is None:
            self.violation(number, f"no active manager within {self.active_timeout:.0f} s after healing; "
                                   f"views: {cluster.views()}")
        # 2. Every blade agrees on the active address and the term.
        agreed, took_agree = wait_until(lambda: cluster.agreement(), self.agree_timeout, interval=0.1)
        if agreed is None:
            self.violation(number, f"blades did not agree on the active manager and term within "
                                   f"{self.agree_timeout:.0f} s after healing; views: {cluster.views()}")
        # 3. Changes acknowledged by the active manager are on every blade.
        writer.join(timeout=10)
        if during.get("acked"):
            self.acknowledged.append(during_key)
            present, _ = self.present_everywhere(during_key)
            if not present:
                self.violation(number, f"change {during_key} acknowledged by blade {during.get('blade')} during the "
                                       f"faults is missing on blades {self.missing_on(during_key)}")
        after = "no-active"
        after_present = None
        target = agreed[0] if agreed else cluster.find_active()
        if target is not None:
            reply, _ = wait_until(lambda: (lambda r: r if r is not None and r.status in (200, 201) else None)(
                cluster.put_threshold(target, after_key)), 5.0, interval=0.2)
            after = "acked" if reply else "refused"
            if reply:
                self.acknowledged.append(after_key)
                after_present, _ = self.present_everywhere(after_key)
                if not after_present:
                    self.violation(number, f"change {after_key} acknowledged by blade {target} after healing is "
                                           f"missing on blades {self.missing_on(after_key)}")
        if after != "acked":
            self.violation(number, f"healed chassis did not acknowledge a configuration change ({after})")
        # 0. Never two active managers (the poller watched the whole round).
        doubles = self.poller.doubles_since(doubles_before) if self.poller else []
        for wall, _, duration, addresses in doubles:
            self.violation(number, f"two blades answered 200 on /health/active in one round at "
                                   f"{time.strftime('%H:%M:%S', time.gmtime(wall))}.{int(wall % 1 * 1000):03d} UTC "
                                   f"(round took {duration * 1000:.0f} ms): {addresses}")
        gap = self.poller.longest_gap(round_started, time.monotonic()) if self.poller else float("nan")
        term = agreed[1] if agreed else "?"
        self.log(f"round {number}: faults=[{', '.join(map(str, faults))}] hold={held:.1f}s "
                 f"heal={heal_seconds * 1000:.0f}ms active_before={active_before} "
                 f"active_after={active_after} term={term} active_in={took_active * 1000:.0f}ms "
                 f"agreed_in={took_agree * 1000:.0f}ms longest_no_active={gap * 1000:.0f}ms "
                 f"write_during={during['outcome']}{'(acked)' if during.get('acked') else ''} "
                 f"write_after={after} violations={len(self.violations)}")

    def final_check(self):
        """Every acknowledged change of the run is still everywhere (nothing lost to a restart)."""
        for key in self.acknowledged:
            missing = self.missing_on(key)
            if missing:
                self.violation("end", f"acknowledged change {key} is missing at the end on blades {missing}")


def run(blades, rounds, seed, build="auto", port=18700, peer_port=7700, directory=None, hold_min=1.0, hold_max=4.0,
        log=print, keep=False, demo_partition=False, tls_port=None):
    """Runs the chaos rounds on a fresh demo; returns (rounds, faults, violations list)."""
    built_dir = binary_directory(build)
    directory = directory or f"/tmp/chassis-chaos-{blades}b-{seed}-{os.getpid()}"
    bin_dir = snapshot_binaries(built_dir, directory.rstrip("/") + "-bin")
    rng = random.Random(seed)
    cluster = DemoCluster(blades, directory, port, peer_port, bin_dir, tls_port=tls_port)
    chaos = Chaos(cluster, rng, log=log, hold_min=hold_min, hold_max=hold_max, demo_partition=demo_partition)
    log(f"chaos: blades={blades} rounds={rounds} seed={seed} binaries={built_dir} ({describe_binaries(bin_dir)}) "
        f"dir={directory} port={port} tls_port={cluster.tls_port} peer_port={peer_port}")
    poller = None
    done = 0
    try:
        remove_own_nft_chains(peer_port)  # left over by a run that was killed
        cluster.up()
        agreed, took = wait_until(lambda: cluster.agreement(), 20, interval=0.1)
        if agreed is None:
            raise RuntimeError(f"the new chassis never agreed on an active manager: {cluster.views()}")
        poller = ActivePoller([cluster.address(i) for i in cluster.indices()], port)
        poller.start()
        chaos.poller = poller
        for number in range(1, rounds + 1):
            chaos.round(number)
            done = number
        chaos.final_check()
    finally:
        # Every step on its own, so that one failing (or a second Ctrl-C) never leaves the chassis
        # running; a signal during the clean-up is held until it is done.
        with signals_held():
            steps = [chaos.heal_everything, lambda: remove_own_nft_chains(peer_port),
                     lambda: cluster.down(remove=not (keep or chaos.violations)),
                     lambda: remove_runtime_directory(directory), lambda: shutil.rmtree(bin_dir, ignore_errors=True)]
            if poller:
                poller.stop()
                log(f"poller: rounds={poller.rounds} double_active={len(poller.double_active)}")
            for step in steps:
                try:
                    step()
                except BaseException as error:  # noqa: B036 - the next step must run regardless
                    log(f"warning: clean-up step failed: {error!r}")
        if chaos.violations:
            log(f"logs kept in {directory}")
    return done, chaos.faults, chaos.violations


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--blades", type=int, default=3, choices=(3, 5))
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--build", choices=("auto", "release", "debug"), default="auto",
                        help="binaries from .build/release or .build/debug (auto: release if built)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default 18700 + blades)")
    parser.add_argument("--tls-port", type=int, default=None, help="HTTPS port (default: the HTTP port + 1000)")
    parser.add_argument("--peer-port", type=int, default=None, help="peer port (default 7700 + blades)")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--hold-min", type=float, default=1.0)
    parser.add_argument("--hold-max", type=float, default=4.0)
    parser.add_argument("--keep", action="store_true", help="keep the demo directory (logs) afterwards")
    parser.add_argument("--demo-partition", action="store_true",
                        help="partition with `chassisctl demo partition` (cuts every packet between the addresses, "
                             "so also other demos on 127.0.1.x) instead of rules scoped to this chassis's peer port")
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(1 << 31)
    port = arguments.port or 18700 + arguments.blades
    peer_port = arguments.peer_port or 7700 + arguments.blades

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)
    try:
        rounds, faults, violations = run(arguments.blades, arguments.rounds, seed, build=arguments.build, port=port,
                                         peer_port=peer_port, directory=arguments.dir, hold_min=arguments.hold_min,
                                         hold_max=arguments.hold_max, keep=arguments.keep,
                                         demo_partition=arguments.demo_partition, tls_port=arguments.tls_port)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        print(f"chaos: could not run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        print(f"chaos: interrupted ({error}); the chassis was taken down", file=sys.stderr)
        return 130
    for round_number, what in violations:
        print(f"violation (round {round_number}): {what}")
    print(f"chaos: rounds={rounds} faults={faults} violations={len(violations)}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
