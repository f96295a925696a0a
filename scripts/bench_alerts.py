#!/usr/bin/env python3
"""Alert latency of a three-blade chassis (release build): from a sensor's crossing to the alert in
the API, and to its receipt by a real Alertmanager. Goal (issue): p99 within one sampling interval
of the sensors plus 200 ms.

Setup: a demo chassis of 3 blades on its own ports (HTTP 19480, HTTPS 19443, peers 7994) from
copies of the release binaries, and Debian's `prometheus-alertmanager` on 127.0.0.1:19493 (its own
storage in a temporary directory, no cluster listener). The notification targets are set to that
Alertmanager only (`PUT /api/v1/notifications`, an admin's API token). The sensors' sampling
interval is read from `GET /api/v1/intervals` (group `sensors`), so the goal is computed, not
assumed.

Each round picks a standby blade at random (the active manager's own sensor would not cross the
peer link) and, with T0 taken just before `chassisctl demo set-sensor B SENSOR 101` starts,
polls every 20 ms, while the command runs and after:
- the active manager's `GET /api/v1/alerts?state=open&slot=S` (HTTPS, a viewer's token) until an
  open alert of SENSOR is listed: T_api;
- Alertmanager's `GET /api/v2/alerts` until an alert labelled metric=SENSOR, slot=S is active: T_am.
Each time is the moment the reply that showed it arrived. Then the sensor is released, the round
waits until the alert is cleared in the API and gone from Alertmanager's active alerts, and
sleeps 0.5 s plus a random fraction of the interval, so that the next T0 falls at a random phase
of the blade's sampling timer.

Where the time goes, per round, on the host's one wall clock: how long the `set-sensor` command
itself ran (starting chassisctl and writing the simulated blade's pins file: part of the latency,
as the crossing happens inside it); when the blade took the first sample at 101 (the first such
raw sample in the slot's history on the active manager, stamped with the blade's own time); the
alert's `raisedAt` (the active manager's time when the blade's batch reached it and it proposed
the alert); and T_api, T_am. The polls' own cost (one request of each kind) is measured in the
same run, as the floor.

Prints one line a round, then a table for "crossing -> API" and "crossing -> Alertmanager":
median, p90, p99 (nearest rank: with fewer than 100 rounds it is the largest), max, the median
as a fraction of the interval, and PASS or FAIL of p99 against the goal. Exits 0 whatever the
figures (it is a report), 1 if a round had no result, 2 if the setup failed.
"""
import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import (DemoCluster, binary_directory, describe_binaries, remove_runtime_directory,  # noqa: E402
                   signals_held, snapshot_binaries, try_request, wait_until)

SENSOR = "hwmon.coretemp-isa-0000.temp1"
CROSSING_VALUE = 101
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
POLL_INTERVAL = 0.020
ROUND_TIMEOUT = 30.0
BLADES = 3


def percentile(values, fraction):
    """Nearest-rank percentile (p99 of fewer than 100 values is the largest)."""
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


# ---------------------------------------------------------------------------------------------
# Alertmanager
# ---------------------------------------------------------------------------------------------

class Alertmanager:
    """Debian's prometheus-alertmanager on loopback, in a directory of its own."""

    def __init__(self, port, directory):
        self.port = port
        self.directory = directory
        self.process = None
        self.log = None

    def start(self):
        if not os.access(ALERTMANAGER, os.X_OK):
            raise RuntimeError(f"{ALERTMANAGER} is not installed (Debian package prometheus-alertmanager; make deps)")
        config = os.path.join(self.directory, "alertmanager.yml")
        with open(config, "w") as handle:
            handle.write("route:\n  receiver: sink\n  group_wait: 1s\nreceivers:\n  - name: sink\n")
        self.log = open(os.path.join(self.directory, "alertmanager.log"), "w")
        self.process = subprocess.Popen([ALERTMANAGER, f"--config.file={config}",
                                         f"--storage.path={self.directory}/data",
                                         f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        ready, _ = wait_until(lambda: self.process.poll() is None and self.get("/-/ready"), 20, interval=0.1)
        if not ready:
            raise RuntimeError(f"Alertmanager did not get ready on 127.0.0.1:{self.port} "
                               f"(exit {self.process.poll()}; log {self.log.name})")

    def stop(self):
        """Ends the one process this script started, by its handle (its PID)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()

    def get(self, path, timeout=1.0):
        reply = try_request("127.0.0.1", self.port, path, timeout=timeout)
        return reply if reply is not None and reply.status == 200 else None

    def active(self, slot):
        """Whether an alert of SENSOR in `slot` is active here (None if Alertmanager did not answer)."""
        reply = self.get("/api/v2/alerts")
        if reply is None:
            return None
        return any(alert["labels"].get("metric") == SENSOR and alert["labels"].get("slot") == str(slot)
                   and alert.get("status", {}).get("state") == "active" for alert in reply.json())


# ---------------------------------------------------------------------------------------------
# The chassis' side
# ---------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, cluster, alertmanager, rng):
        self.cluster = cluster
        self.alertmanager = alertmanager
        self.rng = rng
        self.admin_token = None
        self.chassis_id = None
        self.interval_ms = None
        self.interval_source = None
        self.api_request_ms = []  # the floor: one poll of each kind
        self.am_request_ms = []

    def healthy(self, timeout=30.0):
        agreed, _ = wait_until(lambda: self.cluster.agreement(), timeout, interval=0.05)
        if agreed is None:
            raise RuntimeError(f"chassis not healthy after {timeout:.0f} s: {self.cluster.views()}")
        return agreed[0]

    def get_json(self, index, path, token=None, timeout=2.0):
        reply = self.cluster.get(index, path, token=token, timeout=timeout)
        if reply.status != 200:
            raise RuntimeError(f"GET {path} on blade {index}: {reply.status} {reply.body[:200]!r}")
        return reply.json()

    def setup(self):
        active = self.healthy()
        self.admin_token = self.cluster.create_token("bench-alerts-admin", "admin")
        self.chassis_id = self.get_json(active, "/api/v1/chassis")["chassis"]["chassisID"]
        intervals = self.get_json(active, "/api/v1/intervals")["intervals"]
        sensors = next((row for row in intervals if row["group"] == "sensors"), None)
        if sensors is None:
            raise RuntimeError(f"no sensors group in /api/v1/intervals: {intervals}")
        self.interval_ms, self.interval_source = sensors["intervalMs"], sensors["source"]
        document = {"alertmanager": [{"url": f"http://127.0.0.1:{self.alertmanager.port}"}]}
        reply = self.cluster.get(active, "/api/v1/notifications", method="PUT", body=json.dumps(document),
                                 token=self.admin_token, headers={"Content-Type": "application/json"}, timeout=5)
        if reply.status != 200:
            raise RuntimeError(f"PUT /api/v1/notifications: {reply.status} {reply.body[:300]!r}")

        def delivered():
            delivery = self.get_json(self.healthy(), "/api/v1/notifications").get("delivery") or []
            return delivery if any(status.get("sent", 0) > 0 for status in delivery) else None
        delivery, took = wait_until(delivered, 20, interval=0.2)
        if delivery is None:
            raise RuntimeError("the active manager sent nothing to Alertmanager within 20 s of setting the target")
        return took

    # -- probes --------------------------------------------------------------------------------

    def open_alert(self, active, slot):
        """The open alert of SENSOR in `slot` per the active manager's API; False if it lists none,
        None if it did not answer 200."""
        started = time.monotonic()
        reply = self.cluster.try_get(active, f"/api/v1/alerts?state=open&slot={slot}", timeout=1.0)
        self.api_request_ms.append((time.monotonic() - started) * 1000)
        if reply is None or reply.status != 200:
            return None
        return next((alert for alert in reply.json()["alerts"] if alert["metricKey"] == SENSOR), False)

    def am_active(self, slot):
        started = time.monotonic()
        found = self.alertmanager.active(slot)
        self.am_request_ms.append((time.monotonic() - started) * 1000)
        return found

    def first_crossing_sample(self, active, slot, since_wall):
        """The blade's time of its first raw sample at the crossing value after `since_wall`."""
        path = f"/api/v1/chassis/{self.chassis_id}/slots/{slot}/history?key={SENSOR}&seconds=300"
        reply = self.cluster.try_get(active, path, timeout=2.0)
        if reply is None or reply.status != 200:
            return None
        points = reply.json()["series"][0]["points"]
        times = [p["time"] for p in points if p["time"] >= since_wall - 0.001 and p["max"] >= CROSSING_VALUE]
        return min(times) if times else None

    def clean(self, active, slot):
        """Nothing raised for SENSOR in `slot`, in the API nor in Alertmanager."""
        return self.open_alert(active, slot) is False and self.am_active(slot) is False

    # -- one round -----------------------------------------------------------------------------

    def round(self, number):
        active = self.healthy()
        slot = self.rng.choice([i for i in self.cluster.indices() if i != active])  # blade i is in slot i
        if not wait_until(lambda: self.clean(active, slot), ROUND_TIMEOUT, interval=0.2)[0]:
            print(f"round {number}: slot {slot} still has an alert of {SENSOR} from before; skipped", flush=True)
            return None
        command = [self.cluster.ctl_path, "demo", "set-sensor", str(slot), SENSOR, str(CROSSING_VALUE),
                   "--dir", self.cluster.directory]
        t0_wall, t0 = time.time(), time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The command's own end is taken by a thread that waits for it, not by the 20 ms polls.
        finished = {}

        def wait_command():
            finished["output"] = process.communicate()[0]
            finished["at"] = time.monotonic()
        waiter = threading.Thread(target=wait_command, daemon=True)
        waiter.start()
        t_api = t_am = None
        alert = None
        next_poll = t0
        try:
            while (t_api is None or t_am is None or waiter.is_alive()) and time.monotonic() - t0 < ROUND_TIMEOUT:
                if t_api is None:
                    alert = self.open_alert(active, slot)
                    if alert:
                        t_api = time.monotonic()
                if t_am is None and self.am_active(slot):
                    t_am = time.monotonic()
                next_poll += POLL_INTERVAL
                time.sleep(max(0.0, next_poll - time.monotonic()))
        finally:
            waiter.join(timeout=60)
        if waiter.is_alive() or process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {finished.get('output', '').strip()}")
        command_end = finished["at"]
        # The active manager records the blade's batches a moment after it evaluates them.
        sample_wall = None
        if t_api is not None:
            sample_wall, _ = wait_until(lambda: self.first_crossing_sample(active, slot, t0_wall), 5, interval=0.1)

        def since_t0(moment):
            return None if moment is None else (moment - t0) * 1000

        def since_t0_wall(moment):
            return None if moment is None else (moment - t0_wall) * 1000
        result = {"slot": slot, "active": active, "command": since_t0(command_end), "api": since_t0(t_api),
                  "am": since_t0(t_am), "sample": since_t0_wall(sample_wall),
                  "raised": since_t0_wall(alert["raisedAt"]) if alert else None}

        def show(value):
            return "-" if value is None else f"{value:.0f}"
        print(f"round {number}: slot {slot} (active {active}): set-sensor ran {show(result['command'])} ms; "
              f"from T0: sampled {show(result['sample'])}, raised {show(result['raised'])}, "
              f"API {show(result['api'])}, Alertmanager {show(result['am'])} ms"
              f"{'' if t_api is not None and t_am is not None else f'  (NOT SEEN within {ROUND_TIMEOUT:.0f} s)'}",
              flush=True)

        # Back to normal: release, wait for the clearing on both sides, then a random phase.
        released = time.monotonic()
        self.cluster.demo("set-sensor", str(slot), SENSOR, "release")
        cleared_api = cleared_am = None
        while (cleared_api is None or cleared_am is None) and time.monotonic() - released < 2 * ROUND_TIMEOUT:
            if cleared_api is None and self.open_alert(active, slot) is False:
                cleared_api = (time.monotonic() - released) * 1000
            if cleared_am is None and self.am_active(slot) is False:
                cleared_am = (time.monotonic() - released) * 1000
            time.sleep(0.05)
        if cleared_api is None or cleared_am is None:
            print(f"round {number}: the alert was not cleared within {2 * ROUND_TIMEOUT:.0f} s of the release "
                  f"(API {show(cleared_api)} ms, Alertmanager {show(cleared_am)} ms)", flush=True)
        result["cleared_api"], result["cleared_am"] = cleared_api, cleared_am
        time.sleep(0.5 + self.rng.uniform(0, self.interval_ms / 1000))
        return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def report(results, interval_ms, interval_source, rounds_asked, floors):
    goal = interval_ms + 200
    api = [r["api"] for r in results if r["api"] is not None]
    am = [r["am"] for r in results if r["am"] is not None]
    print(f"--- bench-alerts: {len(results)} rounds with a result of {rounds_asked}; sensors interval "
          f"{interval_ms} ms ({interval_source}); goal p99 <= interval + 200 ms = {goal} ms ---")
    header = f"{'path':<26} {'rounds':>6} {'median_ms':>9} {'p90_ms':>7} {'p99_ms':>7} {'max_ms':>7} " \
             f"{'median/interval':>15} {'goal_ms':>7}  result"
    print(header)
    for name, values, expected in (("crossing -> API", api, len(results)), ("crossing -> Alertmanager", am, len(results))):
        if not values:
            print(f"{name:<26} {0:>6}  no result")
            continue
        p99 = percentile(values, 0.99)
        verdict = "PASS" if p99 <= goal and len(values) == expected else "FAIL"
        missing = f" ({expected - len(values)} rounds never saw it)" if len(values) < expected else ""
        print(f"{name:<26} {len(values):>6} {statistics.median(values):>9.0f} {percentile(values, 0.9):>7.0f} "
              f"{p99:>7.0f} {max(values):>7.0f} {statistics.median(values) / interval_ms:>15.2f} {goal:>7}  "
              f"{verdict}{missing}")
    if len(api) < 100 or len(am) < 100:
        print("p99 is the nearest-rank 99th percentile: with fewer than 100 rounds it is the largest value (the max).")

    def median_of(key, start=None):
        values = [r[key] - (r[start] if start else 0) for r in results
                  if r[key] is not None and (start is None or r[start] is not None)]
        return f"{statistics.median(values):.0f}" if values else "-"
    print("where the time goes (medians, ms; each from T0 = just before `chassisctl demo set-sensor` starts):")
    print(f"  set-sensor command ran                       {median_of('command')}")
    print(f"  T0 -> blade took the first sample at {CROSSING_VALUE}      {median_of('sample')}")
    print(f"  sample -> raised on the active manager       {median_of('raised', 'sample')}  "
          f"(batch to the active manager; raisedAt is its receipt)")
    print(f"  raised -> listed by the API                  {median_of('api', 'raised')}  (commit, apply, read, our poll)")
    print(f"  raised -> active in Alertmanager             {median_of('am', 'raised')}  (commit, curl POST, our poll)")
    print(f"  release -> cleared in the API                {median_of('cleared_api')}  "
          f"(the simulated sensor drifts back from {CROSSING_VALUE}: not a latency of the product)")
    print(f"  release -> resolved in Alertmanager          {median_of('cleared_am')}")
    api_floor, am_floor = floors
    if api_floor and am_floor:
        print(f"floor: one API poll (new HTTPS connection) median {statistics.median(api_floor):.1f} ms "
              f"max {max(api_floor):.1f} ms; one Alertmanager poll median {statistics.median(am_floor):.1f} ms "
              f"max {max(am_floor):.1f} ms; polls every {POLL_INTERVAL * 1000:.0f} ms ({len(api_floor)} and "
              f"{len(am_floor)} requests)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--build", choices=("auto", "release", "debug"), default="release")
    parser.add_argument("--port", type=int, default=19480)
    parser.add_argument("--tls-port", type=int, default=19443)
    parser.add_argument("--peer-port", type=int, default=7994)
    parser.add_argument("--alertmanager-port", type=int, default=19493)
    parser.add_argument("--dir", default=None)
    arguments = parser.parse_args(argv)
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    built_dir = binary_directory(arguments.build)
    directory = arguments.dir or f"/tmp/chassis-bench-alerts-{os.getpid()}"
    bin_dir = snapshot_binaries(built_dir, directory.rstrip("/") + "-bin")
    workdir = tempfile.mkdtemp(prefix="chassis-bench-alerts-am-")
    cluster = DemoCluster(BLADES, directory, arguments.port, arguments.peer_port, bin_dir, tls_port=arguments.tls_port)
    alertmanager = Alertmanager(arguments.alertmanager_port, workdir)
    bench = Bench(cluster, alertmanager, rng)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)
    print(f"bench-alerts: blades={BLADES} rounds={arguments.rounds} seed={seed} binaries={built_dir} "
          f"({describe_binaries(bin_dir)}) dir={directory} sensor={SENSOR} "
          f"poll_interval_ms={POLL_INTERVAL * 1000:.0f} cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}", flush=True)
    results, failed = [], 0
    try:
        try:
            alertmanager.start()
            cluster.up()
            took = bench.setup()
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            print(f"bench-alerts: setup failed: {error}", file=sys.stderr)
            return 2
        print(f"setup: sensors interval {bench.interval_ms} ms ({bench.interval_source}); Alertmanager at "
              f"127.0.0.1:{alertmanager.port} received the first POST {took * 1000:.0f} ms after the target was set",
              flush=True)
        for number in range(1, arguments.rounds + 1):
            result = bench.round(number)
            if result is None or result["api"] is None or result["am"] is None:
                failed += 1
            if result is not None:
                results.append(result)
    except KeyboardInterrupt as error:
        print(f"bench-alerts: interrupted ({error}); the chassis and Alertmanager were stopped", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        print(f"bench-alerts: could not run: {error}", file=sys.stderr)
        return 2
    finally:
        with signals_held():
            for step in (cluster.down, lambda: remove_runtime_directory(directory), alertmanager.stop,
                         lambda: shutil.rmtree(bin_dir, ignore_errors=True),
                         lambda: shutil.rmtree(workdir, ignore_errors=True)):
                try:
                    step()
                except BaseException as error:  # noqa: B036 - the next step must run regardless
                    print(f"warning: clean-up step failed: {error!r}", file=sys.stderr)
    report(results, bench.interval_ms, bench.interval_source, arguments.rounds, (bench.api_request_ms, bench.am_request_ms))
    print(f"rounds_without_result={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
