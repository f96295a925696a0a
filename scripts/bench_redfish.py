#!/usr/bin/env python3
"""Every blade's sensor readings through Redfish, next to the same data from `/api/v1/chassis`
(one document), on a demo chassis of 16 blades (release build by default).

A Redfish client reads the readings the way Redfish lays them out: the chassis collection, then
each blade's sensor collection, then each sensor (one request each). The product's own API gives
the whole chassis, every reading included, in one document. Both on one keep-alive HTTPS
connection to the active manager, with a viewer's API token, interleaved over `--rounds` rounds;
the first round of each warms the caches and is not counted. Prints per round the requests,
bytes and seconds of each, then the medians and the ratio Redfish / API.

Setup: `chassisctl demo` on its own ports (HTTP 19740, HTTPS 20740, peers 7740) from copies of
the binaries (`--build release|debug|auto`). Exits 0 with the report, 2 if the setup failed.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import DemoCluster, KeptConnection, binary_directory, describe_binaries, snapshot_binaries, wait_until  # noqa: E402

SENSOR_UNITS = {"celsius", "volts", "amperes", "watts", "rpm", "percent"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blades", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--build", default="release", choices=["release", "debug", "auto"])
    options = parser.parse_args()
    bin_dir = binary_directory(options.build)
    work = tempfile.mkdtemp(prefix="chassis-bench-redfish-")
    binaries = snapshot_binaries(bin_dir, os.path.join(work, "bin"))
    cluster = DemoCluster(options.blades, os.path.join(work, "demo"), 19740, 7740, binaries, slots=options.blades)
    print(f"bench-redfish: {options.blades} blades, {options.rounds} rounds, {describe_binaries(bin_dir)}")
    try:
        cluster.up()
        active, _ = wait_until(cluster.find_active, 20)
        if active is None:
            print("no active manager", file=sys.stderr)
            return 2
        address = f"127.0.1.{active}"
        # Every blade has reported (its sensors are in the document) before anything is timed.
        connection = KeptConnection(cluster, address, {"Authorization": f"Bearer {cluster.viewer_token}", "OData-Version": "4.0"})
        get = connection.get
        if not connection.every_blade_reported(options.blades):
            print("not every blade reported", file=sys.stderr)
            return 2

        def api_round():
            started = time.perf_counter()
            body = get("/api/v1/chassis")
            seconds = time.perf_counter() - started
            document = json.loads(body)
            readings = sum(1 for slot in document["slots"] for metric in slot["metrics"]
                           if metric["descriptor"]["metricClass"] == "health" and metric["descriptor"]["unit"] in SENSOR_UNITS)
            return 1, len(body), seconds, readings

        def redfish_round():
            requests, size, readings = 0, 0, 0
            started = time.perf_counter()
            body = get("/redfish/v1/Chassis")
            requests, size = requests + 1, size + len(body)
            for member in json.loads(body)["Members"]:
                if not member["@odata.id"].rsplit("/", 1)[1].startswith("Slot"):
                    continue
                body = get(member["@odata.id"] + "/Sensors")
                requests, size = requests + 1, size + len(body)
                for sensor in json.loads(body)["Members"]:
                    body = get(sensor["@odata.id"])
                    requests, size, readings = requests + 1, size + len(body), readings + 1
            return requests, size, time.perf_counter() - started, readings

        api, redfish = [], []
        for number in range(options.rounds + 1):
            a = api_round()
            r = redfish_round()
            if number == 0:
                continue
            api.append(a)
            redfish.append(r)
            print(f"round {number}: api {a[0]} request, {a[1]} bytes, {a[2] * 1000:.1f} ms, {a[3]} readings; "
                  f"redfish {r[0]} requests, {r[1]} bytes, {r[2] * 1000:.1f} ms, {r[3]} readings")
        connection.close()

        def median(rows, index):
            return statistics.median(row[index] for row in rows)
        api_ms, redfish_ms = median(api, 2) * 1000, median(redfish, 2) * 1000
        api_bytes, redfish_bytes = median(api, 1), median(redfish, 1)
        print(f"median: /api/v1/chassis {api_ms:.1f} ms, {api_bytes:.0f} bytes, {median(api, 3):.0f} sensor readings "
              f"(among every other value of the chassis)")
        print(f"median: Redfish crawl {redfish_ms:.1f} ms, {redfish_bytes:.0f} bytes, {median(redfish, 0):.0f} requests, "
              f"{median(redfish, 3):.0f} sensor readings")
        print(f"ratio Redfish / API: time {redfish_ms / api_ms:.1f}x, bytes {redfish_bytes / api_bytes:.2f}x")
        return 0
    except Exception as error:  # a report: say what went wrong, leave nothing running
        print(f"bench-redfish: {error}", file=sys.stderr)
        return 2
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
