"""Installed as a Debian service (issue 13): `make install` lays out the tree the units expect,
the units pass `systemd-analyze verify`, and the engine speaks systemd's notification protocol
(READY once it has joined the chassis, WATCHDOG from its event loop, STOPPING on SIGTERM) to a
real notification socket.

It binds no port: the engines it starts are single blades with unix sockets only.
"""
import json
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    destination = tmp_path_factory.mktemp("install-root")
    result = subprocess.run(["make", "--no-print-directory", "install", f"DESTDIR={destination}", "PREFIX=/usr",
                             "CONFIGURATION=debug"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return destination


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_install_tree_holds_every_part_with_its_mode(tree):
    for binary in ("chassis-engine", "chassis-web", "chassisctl", "chassis-sim", "chassis-snmp"):
        assert mode(tree / "usr/bin" / binary) == 0o755, binary
    share = tree / "usr/share/chassis"
    assert (share / "Templates").is_dir() and any((share / "Templates").iterdir())
    assert (share / "Public").is_dir() and any((share / "Public").iterdir())
    assert mode(share / "nginx/blade.conf.template") == 0o644
    assert mode(tree / "etc/chassis") == 0o750
    assert mode(tree / "etc/chassis/blade.toml") == 0o640, "the configuration is readable by root and chassis only"
    configuration = (tree / "etc/chassis/blade.toml").read_text()
    assert 'templates_dir = "/usr/share/chassis/Templates"' in configuration
    assert (tree / "lib/systemd/system/chassis-engine.service").is_file()
    assert (tree / "lib/systemd/system/chassis-web.service").is_file()
    assert (tree / "lib/systemd/system/chassis-nginx.service").is_file()
    assert (tree / "lib/systemd/system/chassis-nginx-reload.path").is_file()
    assert (tree / "lib/systemd/system/chassis-snmp.service").is_file()
    assert mode(tree / "usr/share/snmp/mibs/CHASSIS-MANAGER-MIB.txt") == 0o644
    assert "u chassis " in (tree / "usr/lib/sysusers.d/chassis-manager.conf").read_text()
    # Manual pages made from the programs' own declarations, and chassisctl's completions.
    for page, text in (("man8/chassis-engine.8", "--witness"), ("man8/chassis-web.8", "--socket"),
                       ("man8/chassisctl.8", "nginx-config"), ("man1/chassis-sim.1", "--engine-timing")):
        path = tree / "usr/share/man" / page
        assert mode(path) == 0o644 and text in path.read_text().replace("\\-", "-").replace("Fl -", "--"), page
    rendered = subprocess.run(f"man -l {tree}/usr/share/man/man8/chassis-engine.8 | col -b", shell=True, capture_output=True,
                              text=True, timeout=30, env={**os.environ, "MANWIDTH": "100"})
    assert rendered.returncode == 0 and "chassis-engine --config file" in rendered.stdout, rendered.stdout[:500]
    assert "--witness" in rendered.stdout and "Exit status" in rendered.stdout
    assert "chassisctl" in (tree / "usr/share/bash-completion/completions/chassisctl").read_text()
    assert (tree / "usr/share/zsh/vendor-completions/_chassisctl").stat().st_size > 0
    assert (tree / "usr/share/fish/vendor_completions.d/chassisctl.fish").stat().st_size > 0
    tmpfiles = (tree / "usr/lib/tmpfiles.d/chassis-manager.conf").read_text()
    assert "d /run/chassis 0750 chassis www-data -" in tmpfiles
    assert "d /var/lib/chassis 0750 chassis chassis -" in tmpfiles
    # Installing again keeps the operator's configuration.
    (tree / "etc/chassis/blade.toml").write_text("# the operator's\n")
    result = subprocess.run(["make", "--no-print-directory", "install", f"DESTDIR={tree}", "PREFIX=/usr", "CONFIGURATION=debug"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert (tree / "etc/chassis/blade.toml").read_text() == "# the operator's\n"


def test_the_units_pass_systemd_analyze_verify(tree, tmp_path):
    """`systemd-analyze verify` with the binaries of the tree (it checks that ExecStart exists):
    no unknown key, no bad value, no missing executable."""
    units = tree / "lib/systemd/system"
    names = ("chassis-engine.service", "chassis-web.service", "chassis-nginx.service", "chassis-nginx-reload.path",
             "chassis-nginx-reload.service", "chassis-snmp.service")
    for name in names:
        text = (units / name).read_text()
        (tmp_path / name).write_text(text.replace("=/usr/bin/", f"={tree}/usr/bin/"))
    # --man=no: the units' man: links name pages of the tree, not of this machine (checked above).
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / name) for name in names)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    engine = (units / "chassis-engine.service").read_text()
    for line in ("Type=notify", "WatchdogSec=", "RestartPreventExitStatus=2 64", "User=chassis",
                 "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW"):
        assert line in engine, line


def test_the_engine_tells_systemd_ready_watchdog_and_stopping(tree, tmp_path):
    """A notification socket as systemd gives one (NOTIFY_SOCKET, WATCHDOG_USEC): the installed
    engine of a one-blade chassis says READY=1 once it is the active manager, pings WATCHDOG=1 at
    half the watchdog period from its event loop, stops pinging while its process is stopped
    (SIGSTOP: what a hung engine looks like to systemd, which then restarts it), pings again when
    it runs, and says STOPPING=1 when it is stopped."""
    import signal
    blade = tmp_path / "blade"
    run_engine_briefly(tree, blade, journal=False, seconds=0.5)  # writes the configuration
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(0.2)
    received = []

    def collect(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                received.append((time.monotonic(), listener.recv(4096).decode()))
            except socket.timeout:
                pass

    environment = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"}
    engine = subprocess.Popen([str(tree / "usr/bin/chassis-engine"), "--config", str(blade / "blade.toml")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    try:
        collect(4)
        ready = [message for _, message in received if "READY=1" in message]
        assert len(ready) == 1, received
        assert "STATUS=active" in ready[0], ready
        pings = [at for at, message in received if message == "WATCHDOG=1"]
        assert len(pings) >= 5, f"{len(pings)} watchdog pings in 4 s at half of a 1 s period"
        gaps = [later - earlier for earlier, later in zip(pings, pings[1:])]
        assert max(gaps) < 0.9, f"a watchdog gap of {max(gaps):.2f} s"
        received.clear()
        engine.send_signal(signal.SIGSTOP)
        collect(2)
        assert not [message for _, message in received if message == "WATCHDOG=1"], "a stopped engine pinged"
        engine.send_signal(signal.SIGCONT)
        received.clear()
        collect(1.5)
        assert [message for _, message in received if message == "WATCHDOG=1"], "no ping after SIGCONT"
        received.clear()
        engine.terminate()
        assert engine.wait(timeout=10) == 0
        collect(0.5)
        assert any("STOPPING=1" in message for _, message in received), received
    finally:
        if engine.poll() is None:
            engine.kill()
        listener.close()


def test_every_binary_answers_help_with_status_0_and_a_usage_error_with_64(tree):
    for binary in ("chassis-engine", "chassis-web", "chassisctl", "chassis-sim"):
        result = subprocess.run([str(tree / "usr/bin" / binary), "--help"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{binary} --help: {result.returncode} {result.stderr}"
        assert "usage" in result.stdout.lower(), f"{binary} --help printed no usage"
    for binary in ("chassis-engine", "chassis-web", "chassis-sim"):
        result = subprocess.run([str(tree / "usr/bin" / binary), "--no-such-option"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 64, f"{binary} with a bad option: {result.returncode}"  # EX_USAGE
    # A configuration error is 2 as well, naming the file and the line (no restart loop under systemd).
    broken = tree / "broken.toml"
    broken.write_text("[blade]\nslot = \"one\"\n")
    for binary in ("chassis-engine", "chassis-web"):
        result = subprocess.run([str(tree / "usr/bin" / binary), "--config", str(broken)], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "broken.toml:2" in result.stderr, (binary, result.returncode, result.stderr)


def run_engine_briefly(tree, tmp_path, journal, seconds=3):
    """The installed engine of a one-blade configuration for three seconds, standard error to a
    file; with `journal`, JOURNAL_STREAM names that file as systemd names the journal's stream."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    configuration = tmp_path / "blade.toml"
    configuration.write_text(f"""
[blade]
name = "blade1"
address = "127.0.0.1"
slot = 1
[paths]
state_dir = "{tmp_path}/state"
runtime_dir = "{tmp_path}/run"
[access]
reload_command = ""
""")
    log = tmp_path / "stderr.log"
    environment = dict(os.environ)
    with open(log, "wb") as stderr:
        if journal:
            status = os.fstat(stderr.fileno())
            environment["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
        else:
            environment.pop("JOURNAL_STREAM", None)
        engine = subprocess.Popen([str(tree / "usr/bin/chassis-engine"), "--config", str(configuration)],
                                  stdout=stderr, stderr=stderr, env=environment)
        try:
            time.sleep(seconds)
        finally:
            engine.terminate()
            assert engine.wait(timeout=10) == 0, "a SIGTERM stops the engine with status 0"
    return log.read_text().splitlines()


def test_nginx_config_renders_the_tested_template_for_an_installed_blade_and_nginx_accepts_it(tree, tmp_path):
    """After the engine's first start (it writes the blade's certificate), `chassisctl
    nginx-config` renders the installed template for the blade's file, copies the authority's
    certificate where nginx's workers may read it, and `nginx -t` accepts the result with the
    unit's own global directives."""
    run_engine_briefly(tree, tmp_path / "blade", journal=False)
    prefix = tmp_path / "nginx"
    result = subprocess.run([str(tree / "usr/bin/chassisctl"), "nginx-config", "--config", str(tmp_path / "blade/blade.toml"),
                             "--prefix", str(prefix)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    text = (prefix / "nginx.conf").read_text()
    assert "{{" not in text
    assert "listen 127.0.0.1:8080;" in text and "listen 127.0.0.1:443 ssl http2;" in text
    assert f"server unix:{tmp_path}/blade/run/web.sock;" in text
    assert f"ssl_certificate {tmp_path}/blade/state/tls/blade.crt;" in text
    assert f"alias {prefix}/ca.crt;" in text and mode(prefix / "ca.crt") == 0o644
    assert "root Public;" in text  # the file's public_dir (its default, relative), as the demo's is its own
    check = subprocess.run(["nginx", "-t", "-q", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                            "-g", "user www-data; error_log stderr warn;"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_the_first_administrator_prepared_at_installation_is_added_by_the_active_manager(tree, tmp_path):
    """`chassisctl first-admin` (the package's postinst) writes a password only root reads and
    leaves the name and hash for the engine; the engine, once active on a chassis without users,
    adds the administrator and removes the file; run again, first-admin does nothing."""
    blade = tmp_path / "blade"
    run_engine_briefly(tree, blade, journal=False, seconds=1)  # the configuration and an empty chassis
    ctl = str(tree / "usr/bin/chassisctl")
    configuration = str(blade / "blade.toml")
    password_file = tmp_path / "admin-password"
    first = subprocess.run([ctl, "first-admin", "--config", configuration, "--password-file", str(password_file)],
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert str(password_file) in first.stdout
    assert mode(password_file) == 0o600 and len(password_file.read_text().strip()) == 20
    pending = blade / "state/first-admin"
    assert mode(pending) == 0o600 and pending.read_text().startswith("admin $scrypt")
    assert password_file.read_text().strip() not in pending.read_text(), "the hash file holds no password"
    log = run_engine_briefly(tree, blade, journal=False, seconds=4)
    assert any("first administrator added" in line for line in log), log[-10:]
    assert not pending.exists()
    users = subprocess.run([ctl, "user", "list", "--config", configuration, "--json"], capture_output=True, text=True, timeout=30)
    assert users.returncode == 0, users.stderr
    assert [(user["name"], user["role"]) for user in json.loads(users.stdout)] == [("admin", "admin")]
    again = subprocess.run([ctl, "first-admin", "--config", configuration, "--password-file", str(password_file)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "has users already" in again.stdout, again.stdout + again.stderr


def test_log_lines_carry_syslog_priorities_for_the_journal_and_timestamps_otherwise(tree, tmp_path):
    journal = run_engine_briefly(tree, tmp_path / "journal", journal=True)
    started = [line for line in journal if "engine started" in line]
    assert started and started[0].startswith("<5>chassis-engine: engine started"), journal[:5]
    assert all(line[:1] == "<" and line[2:3] == ">" for line in journal), journal[:5]
    assert any(line.startswith("<5>") and "stopping" in line for line in journal)
    plain = run_engine_briefly(tree, tmp_path / "plain", journal=False)
    started = [line for line in plain if "engine started" in line]
    assert started and " notice chassis-engine: engine started" in started[0], plain[:5]
    assert started[0][:4].isdigit() and started[0][10] == "T", started[0]


def test_the_operator_commands_of_an_installed_blade(tree, tmp_path):
    """chassisctl against a running engine of a one-blade installation, found through
    CHASSIS_CONFIG (no --config): the command names an operator of a real chassis uses, each
    listing also as JSON, and the older names still working for scripts."""
    blade = tmp_path / "blade"
    run_engine_briefly(tree, blade, journal=False, seconds=0.5)  # writes the configuration
    environment = {**os.environ, "CHASSIS_CONFIG": str(blade / "blade.toml")}
    engine = subprocess.Popen([str(tree / "usr/bin/chassis-engine"), "--config", str(blade / "blade.toml")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ctl(*arguments, check=True):
        result = subprocess.run([str(tree / "usr/bin/chassisctl"), *arguments], capture_output=True, text=True,
                                timeout=30, env=environment)
        if check:
            assert result.returncode == 0, f"chassisctl {' '.join(arguments)}: {result.stdout}{result.stderr}"
        return result

    try:
        deadline = time.monotonic() + 15
        while "\tactive\t" not in ctl("members", check=False).stdout:
            assert time.monotonic() < deadline, ctl("members", check=False)
            time.sleep(0.3)
        members = json.loads(ctl("members", "list", "--json").stdout)
        assert [(member["name"], member["role"]) for member in members] == [("blade1", "active")]
        assert ctl("member", "list").stdout == ctl("members").stdout, "the older name lists the same"

        ctl("thresholds", "set", "console.key", "--scope", "slot:1", "--high-warning", "7")
        assert "slot:1\tconsole.key\t-\t-\t7.0\t-" in ctl("thresholds").stdout
        rules = json.loads(ctl("thresholds", "list", "--json").stdout)
        assert [rule["metricKey"] for rule in rules] == ["console.key"]
        ctl("threshold", "older.key", "--high-critical", "9")  # the older form
        ctl("thresholds", "remove", "console.key", "--scope", "slot:1")
        ctl("threshold", "older.key", "--remove")
        assert ctl("thresholds").stdout == ""
        refused = ctl("thresholds", "remove", "console.key", "--scope", "slot:1", check=False)
        assert refused.returncode != 0 and "no threshold for console.key" in refused.stderr

        ctl("intervals", "set", "memory", "2500")
        intervals = {row["group"]: row for row in json.loads(ctl("intervals", "--json").stdout)}
        assert intervals["memory"] == {"group": "memory", "intervalMs": "2500", "source": "chassis"}
        assert intervals["cpu"]["source"] == "configuration file"
        ctl("interval", "cpu", "3000")  # the older form
        assert "cpu\t3000 ms\tchassis" in ctl("intervals").stdout

        ctl("name", "chassis", "Console chassis")
        ctl("name", "slot", "1", "db-primary")
        status = json.loads(ctl("status", "--json").stdout)
        assert "Console chassis" in json.dumps(status) and "db-primary" in json.dumps(status)

        assert ctl("alerts").returncode == 0 and isinstance(json.loads(ctl("alerts", "list", "--json").stdout), list)
        for listing in (("events", "--json"), ("audit", "--json"), ("replication", "--json"), ("token", "list", "--json"),
                        ("user", "list", "--json"), ("maintenance", "list", "--json")):
            json.loads(ctl(*listing).stdout)
        audit = ctl("audit").stdout
        assert "Console chassis" in audit and "interval" in audit, "every change is in the audit log"
        for command in ("members", "thresholds", "intervals", "alerts", "name", "handover"):
            help_text = ctl(command, "--help").stdout
            assert "Example" in help_text, f"{command} --help has no example"
    finally:
        engine.terminate()
        engine.wait(timeout=10)
