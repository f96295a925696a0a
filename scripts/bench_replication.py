#!/usr/bin/env python3
"""Replication traffic and the engines' cost, with 4 and then 16 blades (release build, default
intervals).

For each chassis size: start the demo, wait 20 s (warm-up), then measure over a 60 s window:
- bytes per second each blade's engine sends to its peers: `chassis_peer_bytes_sent_total` on
  that blade's /metrics. The counter is published every 5 s, so each end of the window is taken
  at the moment the published value changes (polled every 100 ms) and the rate is the difference
  over the time between those two moments, not over a nominal 60 s;
- the active manager engine's CPU share (utime + stime from /proc/PID/stat over the same window,
  in percent of one core) and its resident memory (VmRSS at the end, and the largest of samples
  taken every 5 s); side by side, the same for one standby engine (the highest-numbered blade)
  in the same run, as the reference.

Prints `replication: blades=N bytes_per_second_per_blade_median=… max=…`,
`active_engine: blades=N cpu_percent=… rss_mb=…` and `standby_engine: …` per size, and a goal line
for 16 blades (active engine under 1 % of one core and under 30 MB).
"""
import argparse
import os
import shutil
import signal
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import (DemoCluster, binary_directory, describe_binaries, remove_runtime_directory, signals_held,  # noqa: E402
                   snapshot_binaries, process_is, wait_until)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as handle:
        stat = handle.read()
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory_rollup_kb(pid):
    """Pss and private (clean + dirty) kB from smaps_rollup: what the engine costs beyond the
    shared libraries every engine maps (RSS counts them in full in every process)."""
    values = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                    values[parts[0][:-1]] = int(parts[1])
    except OSError:
        return None, None
    return values.get("Pss"), values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)


def pressure_totals():
    """Microseconds stalled so far (PSI): memory `full`, cpu `some`; None where not available."""
    totals = {}
    for resource, kind in (("memory", "full"), ("cpu", "some")):
        try:
            with open(f"/proc/pressure/{resource}") as handle:
                for line in handle:
                    if line.startswith(kind):
                        totals[resource] = int(line.rsplit("total=", 1)[1])
        except (OSError, ValueError, IndexError):
            totals[resource] = None
    return totals


def machine_busy():
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def counter_edge(cluster, index, timeout=12.0):
    """Waits for the published counter to change; returns (monotonic time of the change, value)."""
    first = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cluster.peer_bytes_sent(index)
        now = time.monotonic()
        if value is not None:
            if first is None:
                first = value
            elif value != first:
                return now, value
        time.sleep(0.1)
    return None, first


def edges(cluster):
    """counter_edge for every blade at once (one thread a blade)."""
    results = {}

    def worker(index):
        results[index] = counter_edge(cluster, index)
    threads = [threading.Thread(target=worker, args=(i,)) for i in cluster.indices()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure(blades, arguments, bin_dir, port, peer_port):
    directory = f"/tmp/chassis-bench-replication-{blades}-{os.getpid()}"
    cluster = DemoCluster(blades, directory, port, peer_port, bin_dir, slots=max(blades, 8),
                          tls_port=arguments.tls_port)
    lines = []
    try:
        started = time.monotonic()
        cluster.up()
        print(f"blades={blades}: demo up in {time.monotonic() - started:.1f} s", flush=True)
        agreed, _ = wait_until(lambda: cluster.agreement(), 60, interval=0.2)
        if agreed is None:
            raise RuntimeError(f"{blades} blades never agreed on an active manager: {cluster.views()}")
        active = agreed[0]
        standby = max(i for i in cluster.indices() if i != active)
        time.sleep(arguments.warmup)
        active_pid, standby_pid = cluster.engine_pid(active), cluster.engine_pid(standby)
        for pid in (active_pid, standby_pid):
            if not process_is(pid, "chassis-engine"):
                raise RuntimeError(f"pid {pid} from demo.json is not a chassis-engine")
        # Start of the window.
        start_edges = edges(cluster)
        window_started = time.monotonic()
        cpu_start = {pid: cpu_ticks(pid) for pid in (active_pid, standby_pid)}
        busy_start = machine_busy()
        pressure_start = pressure_totals()
        rss_peak = {active_pid: 0, standby_pid: 0}
        while time.monotonic() - window_started < arguments.window:
            for pid in rss_peak:
                rss_peak[pid] = max(rss_peak[pid], rss_kb(pid))
            time.sleep(min(5.0, max(0.0, arguments.window - (time.monotonic() - window_started))))
        cpu_end = {pid: cpu_ticks(pid) for pid in (active_pid, standby_pid)}
        window = time.monotonic() - window_started
        busy_end = machine_busy()
        pressure_end = pressure_totals()
        rss_end = {pid: rss_kb(pid) for pid in (active_pid, standby_pid)}
        for pid in rss_peak:
            rss_peak[pid] = max(rss_peak[pid], rss_end[pid])
        end_edges = edges(cluster)
        # Still the same active manager, or the figures mix two roles.
        still = cluster.agreement()
        rates = {}
        for index in cluster.indices():
            (t0, v0), (t1, v1) = start_edges[index], end_edges[index]
            if t0 is None or t1 is None or v0 is None or v1 is None or t1 <= t0:
                print(f"  blade {index}: counter did not move (start {v0}, end {v1})", flush=True)
                continue
            rates[index] = (v1 - v0) / (t1 - t0)
            print(f"  blade {index}{' (active)' if index == active else ''}: {rates[index]:.0f} B/s over "
                  f"{t1 - t0:.1f} s", flush=True)
        busy = (busy_end[0] - busy_start[0]) / max(1, busy_end[1] - busy_start[1]) * 100
        values = sorted(rates.values())
        standby_rates = [rate for index, rate in rates.items() if index != active]
        lines.append(f"replication: blades={blades} bytes_per_second_per_blade_median={statistics.median(values):.0f} "
                     f"max={max(values):.0f} min={min(values):.0f} active={rates.get(active, float('nan')):.0f} "
                     f"standby_median={statistics.median(standby_rates):.0f} total={sum(values):.0f}")
        for name, index, pid in (("active_engine", active, active_pid), ("standby_engine", standby, standby_pid)):
            cpu = (cpu_end[pid] - cpu_start[pid]) / CLOCK_TICKS / window * 100
            pss, private = memory_rollup_kb(pid)
            lines.append(f"{name}: blades={blades} blade={index} cpu_percent={cpu:.2f} rss_mb={rss_end[pid] / 1024:.1f} "
                         f"rss_peak_mb={rss_peak[pid] / 1024:.1f} pss_mb={(pss or 0) / 1024:.1f} "
                         f"private_mb={(private or 0) / 1024:.1f} window_s={window:.1f}")
        stalls = {}
        for resource in ("memory", "cpu"):
            if pressure_start.get(resource) is not None and pressure_end.get(resource) is not None:
                stalls[resource] = (pressure_end[resource] - pressure_start[resource]) / 1e6 / window * 100
        problems = []
        if not still or still[0] != active or still[1] != agreed[1]:
            problems.append(f"elections during the window (term {agreed[1]} -> {still[1] if still else '?'})")
        if window > arguments.window * 1.1:
            problems.append(f"the window overran ({window:.0f} s for {arguments.window:.0f} s)")
        if stalls.get("memory", 0) > 5:
            problems.append(f"memory pressure (all tasks stalled {stalls['memory']:.0f} % of the window)")
        lines.append(f"machine: blades={blades} cpu_busy_percent_of_all_cores={busy:.0f} cores={os.cpu_count()} "
                     f"psi_memory_full_percent={stalls.get('memory', float('nan')):.1f} "
                     f"psi_cpu_some_percent={stalls.get('cpu', float('nan')):.1f} "
                     f"active_unchanged={bool(still) and still[0] == active} term_start={agreed[1]} "
                     f"term_end={still[1] if still else '?'} valid={'no: ' + '; '.join(problems) if problems else 'yes'}")
        if blades == 16:
            cpu = (cpu_end[active_pid] - cpu_start[active_pid]) / CLOCK_TICKS / window * 100
            rss = rss_end[active_pid] / 1024
            lines.append(f"goals: blades=16 active engine cpu {cpu:.2f}% {'<' if cpu < 1 else '>='} 1%, "
                         f"rss {rss:.1f} MB {'<' if rss < 30 else '>='} 30 MB")
        for line in lines:
            print(line, flush=True)
        return lines
    finally:
        with signals_held():
            cluster.down()
            remove_runtime_directory(directory)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4,16", help="chassis sizes to measure, in order")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--build", choices=("auto", "release", "debug"), default="release")
    parser.add_argument("--port", type=int, default=18610)
    parser.add_argument("--tls-port", type=int, default=19610)
    parser.add_argument("--peer-port", type=int, default=7610)
    arguments = parser.parse_args(argv)
    built_dir = binary_directory(arguments.build)
    bin_dir = snapshot_binaries(built_dir, f"/tmp/chassis-bench-replication-bin-{os.getpid()}")

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, terminate)
    print(f"bench-replication: sizes={arguments.sizes} warmup_s={arguments.warmup:.0f} window_s={arguments.window:.0f} "
          f"binaries={built_dir} ({describe_binaries(bin_dir)}) cpus={os.cpu_count()} clk_tck={CLOCK_TICKS} load={os.getloadavg()[0]:.2f}", flush=True)
    summary = []
    try:
        for blades in (int(x) for x in arguments.sizes.split(",")):
            summary += measure(blades, arguments, bin_dir, arguments.port, arguments.peer_port)
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)
    print("--- summary ---")
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
