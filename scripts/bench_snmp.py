#!/usr/bin/env python3
"""A full SNMP walk of a 16-blade demo chassis, next to the same data from `/api/v1/chassis`.

Every blade runs Debian's snmpd with chassis-snmp (`chassisctl demo up --snmp-port 16261`). On
the active manager, Debian's `snmpwalk` (GetNext, one request per object) and `snmpbulkwalk`
(GetBulk, 25 repetitions) walk everything the subagent serves (ENTITY-MIB, ENTITY-SENSOR-MIB and
CHASSIS-MANAGER-MIB: the chassis, slots, modules, every sensor with value, thresholds and
status, the alerts) as SNMPv3 authPriv (SHA-256, AES); beside them, one GET of `/api/v1/chassis`
(every value of the chassis, the same readings among them) on a keep-alive HTTPS connection with
a viewer's token. Interleaved over `--rounds` rounds after one warm-up; the time of a walk is the
whole tool run (its process start, ~10 ms, included: measured alone with `--version`). Bytes on
the wire: the walk once more with `-d`, which prints each packet's size (UDP payloads, both
ways); the API's are the body's. Prints each round, then medians and ratios.

Setup: its own demo (HTTP 19840, HTTPS 19843, peers 7840, snmpd UDP 16261 on 127.0.1.x) from
copies of the binaries (`--build release|debug|auto`). Exits 0 with the report, 2 if the setup failed.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import DemoCluster, KeptConnection, binary_directory, describe_binaries, snapshot_binaries, wait_until  # noqa: E402

SUBTREES = ["1.3.6.1.2.1.47", "1.3.6.1.2.1.99", "1.3.6.1.4.1.99999"]
SNMP_PORT = 16261


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blades", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", default="release", choices=["release", "debug", "auto"])
    options = parser.parse_args()
    for tool in ("snmpd", "snmpwalk", "snmpbulkwalk"):
        if not shutil.which(tool):
            print(f"bench-snmp: {tool} is not installed (make deps)", file=sys.stderr)
            return 2
    bin_dir = binary_directory(options.build)
    if not os.access(os.path.join(bin_dir, "chassis-snmp"), os.X_OK):
        print(f"bench-snmp: {bin_dir}/chassis-snmp is not built", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="chassis-bench-snmp-")
    binaries = snapshot_binaries(bin_dir, os.path.join(work, "bin"))
    cluster = DemoCluster(options.blades, os.path.join(work, "demo"), 19840, 7840, binaries, slots=options.blades,
                          tls_port=19843, extra=["--snmp-port", str(SNMP_PORT)])
    client = os.path.join(work, "client")
    os.makedirs(client)
    # The tools read no /etc/snmp, write nothing under /var/lib/snmp and load no MIB.
    environment = {**os.environ, "SNMPCONFPATH": client, "SNMP_PERSISTENT_DIR": client, "MIBS": "", "MIBDIRS": client}
    print(f"bench-snmp: {options.blades} blades, {options.rounds} rounds, {describe_binaries(bin_dir)}")
    try:
        cluster.up()
        active, _ = wait_until(cluster.find_active, 20)
        if active is None:
            print("no active manager", file=sys.stderr)
            return 2
        address = f"127.0.1.{active}"
        with open(os.path.join(cluster.directory, "snmp-credentials")) as handle:
            credentials = dict(line.strip().split("=", 1) for line in handle if "=" in line)
        security = ["-v3", "-l", "authPriv", "-u", credentials["operator_user"], "-a", "SHA-256", "-A", credentials["operator_auth"],
                    "-x", "AES", "-X", credentials["operator_privacy"], "-On", "-t", "5", "-r", "1"]
        target = f"udp:{address}:{SNMP_PORT}"
        connection = KeptConnection(cluster, address, {"Authorization": f"Bearer {cluster.viewer_token}"})
        get = connection.get
        if not connection.every_blade_reported(options.blades):
            print("not every blade reported", file=sys.stderr)
            return 2

        def walk(tool, extra=(), dump=False):
            """One walk of every subtree in one tool run: (seconds, objects, packets, bytes)."""
            objects, packets, size = 0, 0, 0
            started = time.perf_counter()
            for subtree in SUBTREES:
                arguments = [tool, *security, *extra, *(["-d"] if dump else []), target, subtree]
                result = subprocess.run(arguments, capture_output=True, text=True, env=environment, timeout=120)
                if result.returncode != 0:
                    raise RuntimeError(f"{tool} {subtree}: {result.stderr.strip()[:300]}")
                objects += sum(1 for line in result.stdout.splitlines() if re.match(r"^\.?1\.3\.6\.1\.", line))
                # -d prints "Sending N bytes to …" and "Received N byte packet from …".
                for match in re.finditer(r"^(?:Sending (\d+) bytes|Received (\d+) byte)", result.stdout + result.stderr, re.M):
                    packets, size = packets + 1, size + int(match.group(1) or match.group(2))
            return time.perf_counter() - started, objects, packets, size

        # The SNMP subagent must hold every blade before anything is timed.
        def subagent_ready():
            seconds, objects, _, _ = walk("snmpbulkwalk", ["-Cr25"])
            return objects if objects > 100 * options.blades else None
        if wait_until(subagent_ready, 60)[0] is None:
            print("the subagent did not answer every blade", file=sys.stderr)
            return 2
        started = time.perf_counter()
        for _ in range(5):
            subprocess.run(["snmpwalk", "--version"], capture_output=True, env=environment)
        process_ms = (time.perf_counter() - started) / 5 * 1000

        # The subagents' own cost: the active manager's (answering the walks) and a standby's
        # (only reading the store every refresh_ms and building its tables), CPU over the rounds.
        blades = cluster.state()["blades"]
        agents = {"active": next(b["snmpAgent"] for b in blades if b["index"] == active),
                  "standby": next(b["snmpAgent"] for b in blades if b["index"] != active)}
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_seconds(pid):
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        def rss_mb(pid):
            line = next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:"))
            return int(line.split()[1]) / 1024
        cpu_before = {name: cpu_seconds(pid) for name, pid in agents.items()}
        wall_before = time.monotonic()

        rows = []
        for number in range(options.rounds + 1):
            started = time.perf_counter()
            body = get("/api/v1/chassis")
            api = (time.perf_counter() - started, len(body))
            document = json.loads(body)
            readings = sum(1 for slot in document["slots"] for metric in slot["metrics"]
                           if metric["descriptor"]["metricClass"] == "health" and metric["descriptor"]["unit"] != "text")
            getnext = walk("snmpwalk")
            bulk = walk("snmpbulkwalk", ["-Cr25"])
            if number == 0:
                continue
            rows.append((api, getnext, bulk, readings))
            print(f"round {number}: api {api[1]} bytes {api[0] * 1000:.1f} ms ({readings} readings); "
                  f"snmpwalk {getnext[1]} objects {getnext[0] * 1000:.0f} ms; snmpbulkwalk {bulk[1]} objects {bulk[0] * 1000:.0f} ms")
        connection.close()
        wall = time.monotonic() - wall_before
        usage = {name: (cpu_seconds(pid) - cpu_before[name]) / wall * 100 for name, pid in agents.items()}
        getnext_wire = walk("snmpwalk", dump=True)
        bulk_wire = walk("snmpbulkwalk", ["-Cr25"], dump=True)

        def median(select):
            return statistics.median(select(row) for row in rows)
        api_ms = median(lambda row: row[0][0]) * 1000
        api_bytes = median(lambda row: row[0][1])
        walk_ms = median(lambda row: row[1][0]) * 1000
        bulk_ms = median(lambda row: row[2][0]) * 1000
        objects = median(lambda row: row[1][1])
        print(f"median: /api/v1/chassis {api_ms:.1f} ms, {api_bytes:.0f} bytes ({median(lambda row: row[3]):.0f} sensor readings "
              f"among every other value)")
        print(f"median: snmpwalk (GetNext) {walk_ms:.0f} ms for {objects:.0f} objects; on the wire {getnext_wire[2]} packets, "
              f"{getnext_wire[3]} bytes")
        print(f"median: snmpbulkwalk (GetBulk 25) {bulk_ms:.0f} ms; on the wire {bulk_wire[2]} packets, {bulk_wire[3]} bytes")
        print(f"a tool's own start: {process_ms:.1f} ms a run, {len(SUBTREES)} runs a walk")
        print(f"chassis-snmp over the rounds ({wall:.0f} s): active manager {usage['active']:.1f} % of a core (answering the walks), "
              f"RSS {rss_mb(agents['active']):.1f} MB; a standby {usage['standby']:.1f} % (reading the store every 500 ms, the demo's refresh_ms), "
              f"RSS {rss_mb(agents['standby']):.1f} MB")
        print(f"ratio snmpwalk / API: time {walk_ms / api_ms:.0f}x, bytes {getnext_wire[3] / api_bytes:.2f}x; "
              f"snmpbulkwalk / API: time {bulk_ms / api_ms:.0f}x, bytes {bulk_wire[3] / api_bytes:.2f}x")
        return 0
    except Exception as error:  # a report: say what went wrong, leave nothing running
        print(f"bench-snmp: {error}", file=sys.stderr)
        return 2
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
