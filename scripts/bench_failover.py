#!/usr/bin/env python3
"""Failover and hand-over times of a four-blade chassis (release build), with the measurement
floor of the same polling loop beside them, in the same run.

Failover: at a random moment (0.5 to 3 s after the chassis is healthy again) the active manager's
engine, web app and nginx get SIGKILL, all from here so that the instant is known; from that
instant a survivor's /api/v1/chassis is polled every ~10 ms (HTTPS, with a viewer's API token, as a
script would), following at most one 302, until a 200 comes from a blade other than the killed
one. Then the killed blade is restarted and the next trial waits until it is a standby and every
blade agrees.

Hand-over, two ways (alternating): `chassisctl demo handover` timed from the command's start (the
operator's view: it includes starting chassisctl, which finds the active manager over HTTP), and
the same request sent straight to the active engine's control socket (the product's own
latency); both until another blade answers 200 on /health/active, polled every ~10 ms.

Floor: the same loops on a healthy chassis, from their start to the first 200: what polling and
the HTTP round trips cost by themselves.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import (DemoCluster, binary_directory, describe_binaries, remove_runtime_directory, signals_held,  # noqa: E402
                   snapshot_binaries, wait_until)

POLL_INTERVAL = 0.010


def percentile(values, fraction):
    """Nearest-rank percentile (p99 of 20 values is the largest)."""
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(name, values):
    if not values:
        return f"{name}: trials=0"
    return (f"{name}: trials={len(values)} median_ms={statistics.median(values):.0f} "
            f"p99_ms={percentile(values, 0.99):.0f} max_ms={max(values):.0f} min_ms={min(values):.0f}")


class Bench:
    def __init__(self, cluster, rng):
        self.cluster = cluster
        self.rng = rng
        self.port = cluster.port

    # -- the probes ----------------------------------------------------------------------------

    def chassis_probe(self, survivor, dead=None):
        """One attempt: the survivor's /api/v1/chassis, following at most one redirect. Returns
        the address that answered 200 (never the dead blade's), or None; and what happened."""
        reply = self.cluster.try_get(survivor, "/api/v1/chassis", timeout=0.5)
        if reply is None:
            return None, "refused"
        if reply.status == 200:
            return DemoCluster.address(survivor), "200"
        if reply.status in (301, 302, 303, 307, 308):
            location = urllib.parse.urlsplit(reply.headers.get("location", ""))
            host = location.hostname
            if host is None or (dead is not None and host == DemoCluster.address(dead)):
                return None, f"{reply.status}->dead"
            path = location.path + (f"?{location.query}" if location.query else "")
            if location.scheme != "https" or location.port != self.cluster.tls_port or not host.startswith("127.0.1."):
                return None, f"{reply.status}->elsewhere ({location.geturl()})"
            second = self.cluster.try_get(int(host.rsplit(".", 1)[1]), path or "/", timeout=0.5)
            if second is not None and second.status == 200:
                return host, f"{reply.status}->200"
            if second is not None and second.status in (301, 302, 303, 307, 308):
                onward = urllib.parse.urlsplit(second.headers.get("location", "")).hostname
                via = "self" if onward == host else onward
                return None, f"{reply.status}->{second.status}(at {host}, to {via})"
            return None, f"{reply.status}->{second.status if second else 'refused'}"
        return None, str(reply.status)

    def poll_chassis(self, survivor, dead=None, timeout=15.0, started=None):
        """Polls every ~10 ms until chassis_probe succeeds; returns (ms since started, address,
        outcomes seen)."""
        started = time.monotonic() if started is None else started
        outcomes = {}
        next_poll = time.monotonic()
        while time.monotonic() - started < timeout:
            address, outcome = self.chassis_probe(survivor, dead)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if address is not None:
                return (time.monotonic() - started) * 1000, address, outcomes
            next_poll += POLL_INTERVAL
            time.sleep(max(0.0, next_poll - time.monotonic()))
        return None, None, outcomes

    def poll_health(self, candidates, old=None, timeout=10.0, started=None):
        """Polls /health/active of the candidates (and of the old active, to notice two at once)
        every ~10 ms until a candidate answers 200. Returns (ms, index, rounds with two 200s)."""
        started = time.monotonic() if started is None else started
        next_poll = time.monotonic()
        doubles = 0
        while time.monotonic() - started < timeout:
            winner = None
            for index in candidates:
                if self.cluster.health_active(index, timeout=0.5):
                    winner = index
                    break
            if winner is not None:
                moment = time.monotonic()
                if old is not None and self.cluster.health_active(old, timeout=0.5):
                    doubles += 1
                return (moment - started) * 1000, winner, doubles
            next_poll += POLL_INTERVAL
            time.sleep(max(0.0, next_poll - time.monotonic()))
        return None, None, doubles

    # -- health --------------------------------------------------------------------------------

    def healthy(self, timeout=30.0):
        agreed, took = wait_until(lambda: self.cluster.agreement(), timeout, interval=0.05)
        if agreed is None:
            raise RuntimeError(f"chassis not healthy after {timeout:.0f} s: {self.cluster.views()}")
        return agreed[0]

    def floor(self, active):
        others = [i for i in self.cluster.indices() if i != active]
        chassis = self.poll_chassis(self.rng.choice(others))[0]
        health = self.poll_health(self.cluster.indices())[0]
        return chassis, health

    # -- trials --------------------------------------------------------------------------------

    def failover_trial(self, number):
        active = self.healthy()
        floors = self.floor(active)
        time.sleep(self.rng.uniform(0.5, 3.0))
        active = self.healthy(timeout=5)
        survivor = self.rng.choice([i for i in self.cluster.indices() if i != active])
        killed_at = self.cluster.sigkill(active)
        took, address, outcomes = self.poll_chassis(survivor, dead=active, started=killed_at)
        seen = " ".join(f"{k}:{v}" for k, v in sorted(outcomes.items()))
        if took is None:
            print(f"failover {number}: killed blade {active}, polled blade {survivor}: NO 200 within 15 s ({seen})",
                  flush=True)
        else:
            print(f"failover {number}: killed blade {active}, polled blade {survivor}: 200 from {address} "
                  f"after {took:.0f} ms ({seen})", flush=True)
        restarted = time.monotonic()
        self.cluster.demo("start", str(active))
        self.healthy()
        return took, floors, time.monotonic() - restarted

    def handover_trial(self, number, direct):
        active = self.healthy()
        floors = self.floor(active)
        time.sleep(self.rng.uniform(0.5, 3.0))
        active = self.healthy(timeout=5)
        others = [i for i in self.cluster.indices() if i != active]
        command_ms = None
        started = time.monotonic()
        if direct:
            reply = control_request(self.cluster.blade_state(active)["runtimeDirectory"] + "/engine.sock",
                                    b'{"handOver":{}}\n')
            command_ms = (time.monotonic() - started) * 1000
            took, winner, doubles = self.poll_health(others, old=active, started=started)
            how = f"control socket (reply {command_ms:.0f} ms: {reply.strip()[:80]})"
        else:
            process = subprocess.Popen([self.cluster.ctl_path, "demo", "handover", "--dir", self.cluster.directory],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            took, winner, doubles = self.poll_health(others, old=active, started=started)
            output = process.communicate(timeout=30)[0]
            command_ms = (time.monotonic() - started) * 1000
            how = f"chassisctl ({output.strip()[:60]}, exit {process.returncode})"
        if took is None:
            print(f"handover {number}: from blade {active} via {how}: NO other blade active within 10 s", flush=True)
        else:
            print(f"handover {number}: from blade {active} via {how}: blade {winner} answered 200 after "
                  f"{took:.0f} ms{' (old active still 200 in the same round!)' if doubles else ''}", flush=True)
        return took, floors, doubles


def control_request(path, line, timeout=5.0):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(path)
        connection.sendall(line)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply.decode("utf-8", "replace")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failovers", type=int, default=20)
    parser.add_argument("--handovers", type=int, default=10, help="per method (chassisctl and control socket)")
    parser.add_argument("--blades", type=int, default=4)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--build", choices=("auto", "release", "debug"), default="release")
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--tls-port", type=int, default=19600)
    parser.add_argument("--peer-port", type=int, default=7600)
    parser.add_argument("--dir", default=None)
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    built_dir = binary_directory(arguments.build)
    directory = arguments.dir or f"/tmp/chassis-bench-failover-{os.getpid()}"
    bin_dir = snapshot_binaries(built_dir, directory.rstrip("/") + "-bin")
    cluster = DemoCluster(arguments.blades, directory, arguments.port, arguments.peer_port, bin_dir,
                          tls_port=arguments.tls_port)
    bench = Bench(cluster, rng)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)
    print(f"bench-failover: blades={arguments.blades} seed={seed} binaries={built_dir} ({describe_binaries(bin_dir)}) "
          f"dir={directory} "
          f"poll_interval_ms={POLL_INTERVAL * 1000:.0f} cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}", flush=True)
    failovers, handovers_ctl, handovers_direct = [], [], []
    floor_chassis, floor_health, doubles = [], [], 0
    failed = 0
    try:
        cluster.up()
        bench.healthy()
        for number in range(1, arguments.failovers + 1):
            took, floors, _ = bench.failover_trial(number)
            floor_chassis.append(floors[0])
            floor_health.append(floors[1])
            if took is None:
                failed += 1
            else:
                failovers.append(took)
        for number in range(1, 2 * arguments.handovers + 1):
            direct = number % 2 == 0
            took, floors, double = bench.handover_trial(number, direct)
            floor_chassis.append(floors[0])
            floor_health.append(floors[1])
            doubles += double
            if took is None:
                failed += 1
            else:
                (handovers_direct if direct else handovers_ctl).append(took)
    finally:
        with signals_held():
            cluster.down()
            remove_runtime_directory(directory)
            shutil.rmtree(bin_dir, ignore_errors=True)
    print(summary("failover", failovers))
    print(summary("handover", handovers_ctl) + "  (from the start of `chassisctl demo handover`)")
    print(summary("handover_control", handovers_direct) + "  (from the request on the engine's control socket)")
    print(f"floor: median_ms={statistics.median(floor_chassis):.1f} max_ms={max(floor_chassis):.1f} "
          f"samples={len(floor_chassis)}  (failover loop: survivor /api/v1/chassis + one redirect, healthy chassis)")
    print(f"floor_handover: median_ms={statistics.median(floor_health):.1f} max_ms={max(floor_health):.1f} "
          f"samples={len(floor_health)}  (hand-over loop: /health/active, healthy chassis)")
    print(f"trials_without_result={failed} two_active_in_one_round={doubles}")
    goals = []
    if failovers:
        goals.append(f"failover median {'<=' if statistics.median(failovers) <= 1000 else '>'} 1000 ms")
        goals.append(f"failover p99 {'<=' if percentile(failovers, 0.99) <= 1500 else '>'} 1500 ms")
    if handovers_direct:
        goals.append(f"hand-over (control) median {'<' if statistics.median(handovers_direct) < 300 else '>='} 300 ms")
    if handovers_ctl:
        goals.append(f"hand-over (chassisctl) median {'<' if statistics.median(handovers_ctl) < 300 else '>='} 300 ms")
    print("goals: " + "; ".join(goals))
    return 1 if failed or doubles else 0


if __name__ == "__main__":
    sys.exit(main())
