"""Prometheus' conventions, checked by Prometheus' own tools against two real demo chassis.

- `promtool check metrics` on a blade's `/metrics`: its only complaint is the camelCase of
  node_exporter's own memory names (`node_memory_MemTotal_bytes`), kept so that dashboards written
  for node_exporter work; anything else fails the test.
- The example configuration, rules and Alertmanager routing shipped in `packaging/prometheus/`
  pass `promtool check config`, `promtool check rules` and `amtool check-config`.
- The real Prometheus (Debian's `prometheus`), configured as the example says (one job per
  chassis, each with its CA and a token), scrapes every blade of two chassis (127.0.1.x and
  127.0.2.x, `chassisctl demo up --chassis-number 2`): `up == 1` for every blade; a job with a
  wrong token is down with a 401; node_exporter's counters give rates (`rate(node_cpu_seconds_total)`)
  and the recording rules their series; one active manager per chassis.

Demos: HTTP 19700/19710, HTTPS 19703/19713, peer ports 7700/7710; Prometheus on 127.0.0.1:19790.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, ctl, demo_chassis, request, stop_process, wait_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
AMTOOL = "/usr/bin/amtool"
EXAMPLES = os.path.join(ROOT, "packaging", "prometheus")
PROMETHEUS_ADDRESS = "127.0.0.1:19790"
CHASSIS = [  # (chassis number, HTTP, HTTPS, peer port, chassis ID)
    (1, 19700, 19703, 7700, "660007770088"),
    (2, 19710, 19713, 7710, "660007770089"),
]
BLADES = 2


def require_prometheus():
    for path in (PROMETHEUS, PROMTOOL, AMTOOL):
        if not os.path.exists(path):
            pytest.skip(f"{path} is not installed (Debian prometheus, prometheus-alertmanager; make deps)")


@pytest.fixture(scope="module")
def site():
    """Two demo chassis of two blades each, and an admin token of each."""
    require_prometheus()
    chassis = []
    with contextlib_exit_stack() as stack:
        for number, port, tls_port, peer_port, chassis_id in CHASSIS:
            demo = stack.enter_context(demo_chassis(BLADES, port, tls_port, peer_port, name=f"chassis-prom{number}",
                                                    extra=["--chassis-number", str(number)]))
            demo.number, demo.chassis_id = number, chassis_id
            active = wait_until(lambda: next((index for index in range(1, BLADES + 1) if health(demo, index) == 200), None),
                                timeout=15, what="an active manager")
            result = ctl("token", "create", "admin", "--label", "prometheus", "--blade", str(active), "--demo-dir", demo.directory)
            demo.token_text = result.stdout.strip().splitlines()[-1]
            chassis.append(demo)
        yield chassis


def contextlib_exit_stack():
    import contextlib
    return contextlib.ExitStack()


def address(demo, index):
    return f"127.0.{demo.number}.{index}"


def health(demo, index):
    try:
        return request(address(demo, index), "/health/active", port=demo.port, timeout=0.5).status
    except OSError:
        return None


def scrape(demo, index):
    reply = request(address(demo, index), "/metrics", port=demo.tls_port, ca=demo.ca,
                    headers={"Authorization": f"Bearer {demo.token_text}"})
    assert reply.status == 200, reply.text
    return reply.text


def test_promtool_finds_nothing_but_node_exporters_own_memory_names(site):
    for demo in site:
        for index in range(1, BLADES + 1):
            text = scrape(demo, index)
            assert "node_cpu_seconds_total{" in text and "# TYPE node_cpu_seconds_total counter" in text
            assert f'chassis="{demo.chassis_id}"' in text
            result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
            complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
            others = [line for line in complaints
                      if not (line.startswith("node_memory_") and "should be written in 'snake_case' not 'camelCase'" in line)]
            assert not others, f"promtool on {address(demo, index)}: {others}"
            # Every blade's series carry the chassis and the slot; percentages are ratios.
            for line in text.splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                name = line.split("{")[0].split(" ")[0]
                if name.startswith("chassis_manager_chassis_status") or name.startswith("chassis_manager_alerts") \
                        or name.startswith("chassis_manager_engine") or name.startswith("chassis_notifications"):
                    continue
                assert 'slot="' in line, line
                assert not name.endswith("_percent"), line


def test_the_shipped_examples_pass_promtool_and_amtool(tmp_path):
    require_prometheus()
    result = subprocess.run([PROMTOOL, "check", "rules", os.path.join(EXAMPLES, "chassis-rules.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
    result = subprocess.run([AMTOOL, "check-config", os.path.join(EXAMPLES, "alertmanager.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # The example configuration, with its files where the check can read them.
    etc = tmp_path / "etc"
    etc.mkdir()
    text = open(os.path.join(EXAMPLES, "prometheus.yml")).read().replace("/etc/prometheus/", f"{etc}/")
    for chassis_id in ("660007770088", "660007770089"):
        (etc / f"chassis-{chassis_id}.token").write_text("cm_x_y\n")
        (etc / f"chassis-{chassis_id}-ca.crt").write_text("")
    (tmp_path / "prometheus.yml").write_text(text)
    shutil.copy(os.path.join(EXAMPLES, "chassis-rules.yml"), tmp_path / "chassis-rules.yml")
    result = subprocess.run([PROMTOOL, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def query(expression):
    url = f"http://{PROMETHEUS_ADDRESS}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as reply:
        document = json.load(reply)
    assert document["status"] == "success", document
    return document["data"]["result"]


def test_prometheus_scrapes_every_blade_of_two_chassis(site, tmp_path):
    jobs = []
    for demo in site:
        (tmp_path / f"{demo.chassis_id}.token").write_text(demo.token_text + "\n")
        targets = ", ".join(f'"{address(demo, index)}:{demo.tls_port}"' for index in range(1, BLADES + 1))
        jobs.append(f"""
  - job_name: chassis-{demo.chassis_id}
    scheme: https
    honor_labels: true
    tls_config: {{ ca_file: {demo.ca} }}
    authorization: {{ credentials_file: {tmp_path}/{demo.chassis_id}.token }}
    static_configs:
      - targets: [{targets}]
        labels: {{ chassis: "{demo.chassis_id}" }}""")
    (tmp_path / "wrong.token").write_text("cm_0123456789abcdef_not-the-secret\n")
    first = site[0]
    jobs.append(f"""
  - job_name: wrong-token
    scheme: https
    tls_config: {{ ca_file: {first.ca} }}
    authorization: {{ credentials_file: {tmp_path}/wrong.token }}
    static_configs:
      - targets: ["{address(first, 1)}:{first.tls_port}"]""")
    shutil.copy(os.path.join(EXAMPLES, "chassis-rules.yml"), tmp_path / "chassis-rules.yml")
    (tmp_path / "prometheus.yml").write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [chassis-rules.yml]
scrape_configs:{"".join(jobs)}
""")
    log = open(tmp_path / "prometheus.log", "w")
    server = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path}/prometheus.yml", f"--storage.tsdb.path={tmp_path}/data",
                               f"--web.listen-address={PROMETHEUS_ADDRESS}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def targets():
            try:
                with urllib.request.urlopen(f"http://{PROMETHEUS_ADDRESS}/api/v1/targets", timeout=2) as reply:
                    active = json.load(reply)["data"]["activeTargets"]
            except OSError:
                return None
            return active if len(active) == len(site) * BLADES + 1 and all(t["health"] != "unknown" for t in active) else None
        active = wait_until(targets, timeout=60, interval=0.5, what="Prometheus to scrape every target")
        by_job = {}
        for target in active:
            by_job.setdefault(target["labels"]["job"], []).append(target)
        wrong = by_job.pop("wrong-token")[0]
        assert wrong["health"] == "down" and "401" in wrong["lastError"], wrong
        for job, members in by_job.items():
            assert all(t["health"] == "up" for t in members), members

        up = query('up{job=~"chassis-.*"}')
        assert len(up) == len(site) * BLADES and all(sample["value"][1] == "1" for sample in up), up
        assert {sample["metric"]["chassis"] for sample in up} == {demo.chassis_id for demo in site}

        # Counters give rates once Prometheus holds two scrapes of them.
        blades = {(demo.chassis_id, str(index)) for demo in site for index in range(1, BLADES + 1)}

        def every_blades_rate():
            rates = query("rate(node_cpu_seconds_total[10s])")
            return rates if {(s["metric"]["chassis"], s["metric"]["slot"]) for s in rates} == blades else None
        rates = wait_until(every_blades_rate, timeout=30, interval=1, what="a rate of node_cpu_seconds_total of every blade")
        assert all(0 <= float(sample["value"][1]) <= 1.01 for sample in rates), rates
        busy = wait_until(lambda: query("chassis_slot:node_cpu_busy:ratio_rate1m") or None, timeout=30, interval=1,
                          what="the recording rule's series")
        assert all(0 <= float(sample["value"][1]) <= 1 for sample in busy), busy
        active_sum = wait_until(lambda: query("chassis:chassis_manager_active:sum") or None, timeout=30, interval=1,
                                what="the active manager rule")
        assert {sample["metric"]["chassis"]: sample["value"][1] for sample in active_sum} \
            == {demo.chassis_id: "1" for demo in site}, active_sum
    finally:
        stop_process(server, seconds=15)
        log.close()
