"""SNMP on a real 3-blade demo chassis (number 7, blades on 127.0.7.x): every blade runs Debian's
snmpd (UDP 16161 on its own address) with chassis-snmp as its AgentX subagent, and Debian's
tools ask them:

- `snmpwalk` of ENTITY-MIB's serial numbers and names and ENTITY-SENSOR-MIB's values on every
  blade, checked against `/api/v1/chassis` (a pinned sensor exactly, the others' set and range);
  the containment tree;
- the customer's context (`-n customer-a`, its own SNMPv3 user): its slots only; the customer in
  the default context, and the operator in the customer's context, refused;
- a wrong authentication or privacy password, and an unknown user, refused; SNMPv2c refused
  (no community configured);
- `snmptrapd` on 127.0.0.1:19862 receives SNMPv3 informs: an alert raised and cleared when a
  demo sensor crosses its limit, and a change of manager after the active blade is SIGKILLed, each
  sent by the active manager only;
- the subagent connects again when its snmpd restarts, and sends then what it held meanwhile; SNMPv2c, once a community is configured
  (`chassisctl snmp config`), answers with that community only, read-only;
- no SNMP password in a process's arguments, a log, or the blade's databases;
- CHASSIS-MANAGER-MIB passes `smilint -l 6` with no message.

Its own demo: HTTP 19820, HTTPS 19823, peer port 7820, snmpd 16161, snmptrapd 19862.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ROOT, ctl, demo_chassis, stop_process, wait_until

PORT = 19820
TLS_PORT = 19823
PEER_PORT = 7820
SNMP_PORT = 16161
TRAP_PORT = 19862
NUMBER = 7
BLADES = 3
CUSTOMER_SLOTS = {2, 3}
# Sensors of slot 2 pinned to known values: (key, value, entPhySensorType, precision, entPhySensorValue, units).
PINNED = [("hwmon.nct6798-isa-0290.in0", "1.234", 4, 3, 1234, "V"),
          ("hwmon.coretemp-isa-0000.temp2", "47.5", 8, 1, 475, "degrees C"),
          ("hwmon.nct6798-isa-0290.fan1", "1800", 10, 0, 1800, "RPM"),
          ("hwmon.power_meter-acpi-0.curr1", "3.5", 5, 3, 3500, "A"),
          ("hwmon.power_meter-acpi-0.power1", "210.5", 6, 1, 2105, "W")]
HOT = "hwmon.coretemp-isa-0000.temp1"

ENTITY = "1.3.6.1.2.1.47.1.1.1.1"
SENSOR = "1.3.6.1.2.1.99.1.1.1"
PRODUCT = "1.3.6.1.4.1.99999"
SENSOR_KEY = PRODUCT + ".1.3.1.2"
TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
ALERT_RAISED, ALERT_CLEARED, MANAGER_CHANGED = PRODUCT + ".0.1", PRODUCT + ".0.2", PRODUCT + ".0.3"
SENDER = PRODUCT + ".1.2.5.0"


def require_tools():
    for tool in ("snmpd", "snmpwalk", "snmpget", "snmptrapd", "smilint"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not installed: make test installs snmpd, snmp, snmptrapd and smitools")


def address(index):
    return f"127.0.{NUMBER}.{index}"


@pytest.fixture(scope="module")
def client_environment(tmp_path_factory):
    """The client tools read no /etc/snmp and write nothing under /var/lib/snmp, and load no MIB."""
    directory = str(tmp_path_factory.mktemp("snmp-client"))
    return {**os.environ, "SNMPCONFPATH": directory, "SNMP_PERSISTENT_DIR": directory, "MIBS": "", "MIBDIRS": directory}


@pytest.fixture(scope="module")
def trap_log(tmp_path_factory):
    """The file snmptrapd writes; created here, before the demo, so its path is known."""
    return str(tmp_path_factory.mktemp("snmptrapd") / "traps.log")


@pytest.fixture(scope="module")
def chassis(trap_log):
    require_tools()
    with demo_chassis(BLADES, PORT, TLS_PORT, PEER_PORT, name="chassis-snmp",
                      extra=["--chassis-number", str(NUMBER), "--snmp-port", str(SNMP_PORT),
                             "--snmp-inform-sink", f"127.0.0.1:{TRAP_PORT}"]) as demo:
        demo.address = address
        with open(os.path.join(demo.directory, "snmp-credentials")) as handle:
            demo.snmp = dict(line.strip().split("=", 1) for line in handle if "=" in line)
        assert os.stat(os.path.join(demo.directory, "snmp-credentials")).st_mode & 0o777 == 0o600
        yield demo


@pytest.fixture(scope="module")
def trapd(chassis, trap_log, client_environment):
    """Debian's snmptrapd on 127.0.0.1:19862, accepting the inform user's SNMPv3 informs."""
    directory = os.path.dirname(trap_log)
    credentials = chassis.snmp
    configuration = os.path.join(directory, "snmptrapd.conf")
    with open(os.open(configuration, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(f"createUser {credentials['inform_user']} SHA-256 {credentials['inform_auth']} "
                     f"AES {credentials['inform_privacy']}\n")
        handle.write(f"authUser log {credentials['inform_user']} priv\n")
        # One record per notification: TRAP, then each binding (OID = TYPE: value), tab-separated.
        handle.write("format2 TRAP %v\\n\n")
    environment = {**client_environment, "SNMPCONFPATH": directory, "SNMP_PERSISTENT_DIR": directory}
    process = subprocess.Popen(["snmptrapd", "-f", "-On", "-Lf", trap_log, "-p", os.path.join(directory, "pid"),
                                f"udp:127.0.0.1:{TRAP_PORT}"],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: os.path.exists(trap_log) and "NET-SNMP version" in open(trap_log).read(), timeout=10,
                   what="snmptrapd to start")
        yield trap_log
    finally:
        stop_process(process)


def snmp(chassis, environment, tool, index, *oids, user=None, auth=None, privacy=None, context=None, extra=(), check=True):
    """Runs an SNMPv3 (authPriv, SHA-256/AES) tool against blade `index`. net-snmp's tools take
    passwords as arguments (-A, -X): these tests' own client processes carry them there; the
    product's processes never do (the last test checks)."""
    credentials = chassis.snmp
    user = user or credentials["operator_user"]
    prefix = "operator" if user == credentials["operator_user"] else "customer"
    arguments = [tool, "-v3", "-l", "authPriv", "-u", user, "-a", "SHA-256", "-A", auth or credentials[f"{prefix}_auth"],
                 "-x", "AES", "-X", privacy or credentials[f"{prefix}_privacy"], "-On", "-t", "2", "-r", "1", *extra]
    if context is not None:
        arguments += ["-n", context]
    arguments += [f"udp:{address(index)}:{SNMP_PORT}", *oids]
    result = subprocess.run(arguments, capture_output=True, text=True, env=environment, timeout=60)
    if check:
        assert result.returncode == 0, f"{' '.join(arguments[:2])} … {oids}: {result.stdout}{result.stderr}"
    return result


def walk(chassis, environment, index, *subtrees, **keywords):
    """snmpwalk of each subtree (the tool takes one), merged into {oid: value}."""
    values = {}
    for subtree in subtrees:
        values.update(parse(snmp(chassis, environment, "snmpwalk", index, subtree, **keywords).stdout))
    return values


LINE = re.compile(r'^\.?([0-9.]+) = (?:([A-Za-z0-9-]+): )?(.*)$')


def parse(output):
    """{oid: value} from -On output (strings unquoted, numbers as int)."""
    values = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        oid, kind, value = match.groups()
        if kind == "STRING":
            value = value[1:-1] if value.startswith('"') else value
        elif kind in ("INTEGER", "Gauge32"):
            value = int(value.split("(")[-1].rstrip(")")) if "(" in value else int(value)
        elif value == '""':
            value = ""
        values[oid] = value
    return values


def column(values, prefix):
    """{index: value} of one table column."""
    return {int(oid[len(prefix) + 1:]): value for oid, value in values.items() if oid.startswith(prefix + ".")}


def api_chassis(chassis):
    active = chassis.active_index()
    reply = chassis.get(active, "/api/v1/chassis", auth=chassis.admin)
    assert reply.status == 200, reply.text
    return reply.json()


def health_sensors(metrics):
    return {m["descriptor"]["key"]: m for m in metrics
            if m["descriptor"]["metricClass"] == "health" and m["descriptor"]["unit"] != "text"}


def test_the_mib_passes_smilint():
    require_tools()
    result = subprocess.run(["smilint", "-l", "6", "-s", os.path.join(ROOT, "packaging", "snmp", "CHASSIS-MANAGER-MIB.txt")],
                            capture_output=True, text=True, env={**os.environ, "SMIPATH": os.path.join(ROOT, "packaging", "snmp", "base")})
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stdout + result.stderr


def test_every_blade_answers_entity_mib_as_the_api_shows_the_chassis(chassis, client_environment):
    for key, value, *_ in PINNED:
        chassis.demo("set-sensor", "2", key, value)

    def pinned():
        slot = next(s for s in api_chassis(chassis)["slots"] if s["slotID"] == 2)
        values = {m["descriptor"]["key"]: m.get("value") for m in slot["metrics"]}
        return all(values.get(key) == float(value) for key, value, *_ in PINNED)
    wait_until(pinned, timeout=15, what="the pinned sensors in the API")
    api = api_chassis(chassis)
    for index in range(1, BLADES + 1):
        # Any blade answers: every store holds every blade's replicated last status.
        values = wait_until(lambda: (lambda v: v if column(v, SENSOR + ".4") and column(v, ENTITY + ".11") else None)(
            walk(chassis, client_environment, index, "1.3.6.1.2.1.47", "1.3.6.1.2.1.99", PRODUCT + ".1.3")),
            timeout=20, what=f"blade {index}'s subagent")
        serials = column(values, ENTITY + ".11")
        classes = column(values, ENTITY + ".5")
        contained = column(values, ENTITY + ".4")
        assert serials[1] == api["chassis"]["chassisID"] and classes[1] == 3 and contained[1] == 0
        for slot in api["slots"]:
            number = slot["slotID"]
            assert classes[number * 1000] == 5 and contained[number * 1000] == 1
            if slot.get("module"):
                assert serials[number * 1000 + 1] == slot["module"]["serial"]
                assert column(values, ENTITY + ".13")[number * 1000 + 1] == slot["module"]["model"]
                assert classes[number * 1000 + 1] == 9 and contained[number * 1000 + 1] == number * 1000
            # The blade's sensors: one ENTITY-SENSOR row each, with its key, under the module.
            keys = {i: key for i, key in column(values, SENSOR_KEY).items() if number * 1000 < i < number * 1000 + 1000}
            sensors = health_sensors(slot["metrics"])
            assert set(keys.values()) == set(sensors), f"slot {number}"
            pinned_here = {entry[0]: entry for entry in PINNED} if number == 2 else {}
            for i, key in keys.items():
                assert contained[i] == number * 1000 + 1 and classes[i] == 8
                metric = sensors[key]
                assert column(values, ENTITY + ".7")[i] == metric["descriptor"]["label"]
                assert column(values, SENSOR + ".5")[i] == (1 if metric.get("value") is not None else 3)
                if key in pinned_here:
                    _, _, kind, precision, value, units = pinned_here[key]
                    assert (column(values, SENSOR + ".1")[i], column(values, SENSOR + ".3")[i], column(values, SENSOR + ".4")[i],
                            column(values, SENSOR + ".6")[i], column(values, SENSOR + ".2")[i]) == (kind, precision, value, units, 9), key
                # (The other simulated readings move every sample, between the API's read and the walk.)
            assert len(pinned_here) == 0 or pinned_here.keys() <= set(keys.values())


def test_a_sensors_update_rate_follows_the_replicated_interval(chassis, client_environment):
    """entPhySensorValueUpdateRate is the sensors group's interval: the configuration file's
    (2,000 ms), then the one an operator sets for the whole chassis, on every blade."""
    rate = SENSOR + ".8.2101"
    first = parse(snmp(chassis, client_environment, "snmpget", 1, rate).stdout)
    assert first[rate] == 2000
    active = chassis.active_index()
    ctl("intervals", "set", "sensors", "3000", "--blade", str(active), "--demo-dir", chassis.directory)
    try:
        for index in range(1, BLADES + 1):
            wait_until(lambda: parse(snmp(chassis, client_environment, "snmpget", index, rate).stdout).get(rate) == 3000,
                       timeout=15, what=f"blade {index}'s update rate of 3000 ms")
    finally:
        ctl("intervals", "set", "sensors", "2000", "--blade", str(chassis.active_index()), "--demo-dir", chassis.directory)


def test_a_customer_sees_only_its_slots_in_its_context(chassis, client_environment):
    credentials = chassis.snmp
    user = credentials["customer_user"]
    api = api_chassis(chassis)
    values = parse(snmp(chassis, client_environment, "snmpwalk", 1, ENTITY + ".11", user=user, context=user).stdout)
    serials = column(values, ENTITY + ".11")
    slots = {index // 1000 for index in serials if index >= 1000}
    assert slots == CUSTOMER_SLOTS
    theirs = {slot["module"]["serial"] for slot in api["slots"] if slot["slotID"] in CUSTOMER_SLOTS and slot.get("module")}
    others = {slot["module"]["serial"] for slot in api["slots"] if slot["slotID"] not in CUSTOMER_SLOTS and slot.get("module")}
    assert theirs <= set(serials.values()) and not (others & set(serials.values()))
    # No manager objects, no chassis devices in the customer's context.
    product = parse(snmp(chassis, client_environment, "snmpwalk", 1, PRODUCT, user=user, context=user).stdout)
    assert not any(oid.startswith(PRODUCT + ".1.2.") for oid in product)
    sensor_indexes = column(product, SENSOR_KEY)
    assert sensor_indexes and all(index // 1000 in CUSTOMER_SLOTS for index in sensor_indexes), product
    # The customer in the default context sees nothing of the chassis; the operator is not let
    # into the customer's context.
    default = snmp(chassis, client_environment, "snmpwalk", 1, ENTITY + ".11", user=user, check=False)
    assert not column(parse(default.stdout), ENTITY + ".11")
    assert "authorizationError" in default.stderr or "No Such Object" in default.stdout or default.returncode != 0
    operator = snmp(chassis, client_environment, "snmpget", 1, ENTITY + ".11.1", context=user, check=False)
    assert operator.returncode != 0 or "660007770094" not in operator.stdout


def test_wrong_passwords_an_unknown_user_and_snmpv2c_are_refused(chassis, client_environment):
    right = snmp(chassis, client_environment, "snmpget", 2, ENTITY + ".11.1")
    assert '"660007770094"' in right.stdout
    wrong_auth = snmp(chassis, client_environment, "snmpget", 2, ENTITY + ".11.1", auth="not-the-password-1", check=False)
    assert wrong_auth.returncode != 0 and "Authentication failure" in wrong_auth.stderr, wrong_auth.stderr
    assert "660007770094" not in wrong_auth.stdout
    wrong_privacy = snmp(chassis, client_environment, "snmpget", 2, ENTITY + ".11.1", privacy="not-the-password-2", check=False)
    assert wrong_privacy.returncode != 0 and "660007770094" not in wrong_privacy.stdout
    unknown = snmp(chassis, client_environment, "snmpget", 2, ENTITY + ".11.1", user="intruder", auth="whatever123",
                   privacy="whatever123", check=False)
    assert unknown.returncode != 0 and "Unknown user name" in unknown.stderr
    for community in ("public", "private", chassis.snmp["operator_auth"]):
        v2c = subprocess.run(["snmpget", "-v2c", "-c", community, "-On", "-t", "1", "-r", "0", f"udp:{address(2)}:{SNMP_PORT}",
                              ENTITY + ".11.1"], capture_output=True, text=True, env=client_environment, timeout=30)
        assert v2c.returncode != 0 and "Timeout" in v2c.stderr and "660007770094" not in v2c.stdout


def traps(log):
    """The notifications snmptrapd logged: a list of {oid: value}."""
    text = open(log, encoding="utf-8", errors="replace").read()
    found = []
    for record in text.split("TRAP ")[1:]:
        bindings = {}
        for part in record.split("\t"):
            oid, _, value = part.strip().partition(" = ")
            if oid:
                value = value.split(": ", 1)[-1].strip('"')
                bindings[oid.lstrip(".")] = value[1:] if re.match(r"^\.[0-9]", value) else value
        found.append(bindings)
    return found


def test_alerts_raised_and_cleared_reach_snmptrapd_from_the_active_manager(chassis, trapd, client_environment):
    active = chassis.active_index()
    active_name = f"blade{active}"
    before = len(traps(trapd))
    slot = 2
    chassis.demo("set-sensor", str(slot), HOT, "101")
    try:
        raised = wait_until(lambda: [t for t in traps(trapd)[before:] if t.get(TRAP_OID) == ALERT_RAISED
                                     and any(v == HOT for v in t.values()) and any(k.startswith(PRODUCT + ".1.4.1.3.") and v == str(slot)
                                                                                    for k, v in t.items())],
                            timeout=30, what="an alert-raised inform for the hot sensor")
    finally:
        chassis.demo("set-sensor", str(slot), HOT, "release")
    alert_id = next(k.split(".")[-1] for k in raised[0] if k.startswith(PRODUCT + ".1.4.1.5."))
    cleared = wait_until(lambda: [t for t in traps(trapd)[before:] if t.get(TRAP_OID) == ALERT_CLEARED
                                  and PRODUCT + f".1.4.1.5.{alert_id}" in t],
                         timeout=60, what="the alert-cleared inform")
    assert cleared[0][PRODUCT + f".1.4.1.8.{alert_id}"] == "2"
    # Every notification came from the active manager's subagent, which names itself.
    assert {t.get(SENDER) for t in traps(trapd)[before:]} == {active_name}
    # And the alert is in the alert table while it is open or unacknowledged.
    table = parse(snmp(chassis, client_environment, "snmpwalk", active, PRODUCT + ".1.4").stdout)
    assert table.get(f"{PRODUCT}.1.4.1.5.{alert_id}") == HOT


def test_a_new_active_manager_says_so_after_the_old_one_is_killed(chassis, trapd, client_environment):
    old = chassis.active_index()
    before = len(traps(trapd))
    chassis.demo("kill", str(old))
    try:
        new = chassis.active_index(timeout=15, exclude=(old,))
        changed = wait_until(lambda: [t for t in traps(trapd)[before:] if t.get(TRAP_OID) == MANAGER_CHANGED],
                             timeout=30, what="a manager-changed inform")
        trap = changed[0]
        assert trap[PRODUCT + ".1.2.1.0"] == f"blade{new}" and trap[SENDER] == f"blade{new}"
        assert trap[PRODUCT + ".1.2.2.0"] == address(new)
        assert trap[PRODUCT + ".1.2.7.0"] == f"blade{old}"
        time.sleep(2)
        # Only the new active manager sent anything since; the third blade stayed silent.
        assert {t.get(SENDER) for t in traps(trapd)[before:]} == {f"blade{new}"}
        assert len([t for t in traps(trapd)[before:] if t.get(TRAP_OID) == MANAGER_CHANGED]) == 1
        # The survivors still answer, with the dead blade's last status (its serial).
        values = parse(snmp(chassis, client_environment, "snmpget", new, f"{PRODUCT}.1.2.1.0", f"{PRODUCT}.1.2.6.0").stdout)
        assert values[f"{PRODUCT}.1.2.1.0"] == f"blade{new}" and values[f"{PRODUCT}.1.2.6.0"] == 1
    finally:
        chassis.demo("start", str(old), check=False)


def test_the_subagent_connects_again_when_snmpd_restarts_and_snmpv2c_answers_once_turned_on(chassis, trapd, client_environment,
                                                                                           tmp_path):
    """The active manager's snmpd is stopped and started again (by this test) with the
    configuration `chassisctl snmp config` writes once [snmp] names a community file: an alert
    raised meanwhile is notified once snmpd is back, the subagent connects again by itself, and
    SNMPv2c answers with that community only, read-only (the default context: SNMPv2c has no
    contexts, so a customer has no SNMPv2c view)."""
    credentials = chassis.snmp
    state = chassis.state()
    index = chassis.active_index()
    blade = next(b for b in state["blades"] if b["index"] == index)
    pid = blade["snmpd"]
    directory = os.path.join(blade["directory"], "snmp")
    command = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[:-1]
    # SNMPv2c turned on: a community file named in a copy of the blade's configuration.
    community = "ro-" + credentials["operator_privacy"][:12]
    community_file = tmp_path / "community"
    community_file.write_text(community + "\n")
    configuration = tmp_path / "blade.toml"
    configuration.write_text(open(os.path.join(blade["directory"], "blade.toml")).read().replace(
        "[snmp]\n", f'[snmp]\nv2c_community_file = "{community_file}"\n'))
    rendered = subprocess.run([os.path.join(ROOT, ".build", "debug", "chassisctl"), "snmp", "config", "--config", str(configuration),
                               "--operator", credentials["operator_user"], "--customer", credentials["customer_user"],
                               "--inform-user", credentials["inform_user"], "--agentx-group", "",
                               "--output", os.path.join(directory, "snmpd.conf")],
                              input=f"{credentials['inform_auth']}\n{credentials['inform_privacy']}\n", capture_output=True,
                              text=True, timeout=30)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    environment = {**os.environ, "SNMP_PERSISTENT_DIR": os.path.join(directory, "persist"),
                   "SNMPCONFPATH": directory + ":" + os.path.join(directory, "persist"), "MIBS": "", "MIBDIRS": ""}
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"),
               timeout=10, what="snmpd to stop")
    # An alert while the active manager's snmpd is away: the subagent holds its notification.
    before = len(traps(trapd))
    slot = 3
    chassis.demo("set-sensor", str(slot), HOT, "101")
    try:
        wait_until(lambda: re.search(r"held until it is back: alert \d+ raised: [^\n]* is 101\.0", chassis.log(index, "snmp-agent")),
                   timeout=30, what="the subagent to hold the hot sensor's alert-raised notification")
    finally:
        chassis.demo("set-sensor", str(slot), HOT, "release")
    # The same snmpd again, started by this test (and stopped by it).
    process = subprocess.Popen([part.decode() for part in command], env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        values = wait_until(lambda: column(parse(snmp(chassis, client_environment, "snmpwalk", index, ENTITY + ".11", check=False).stdout),
                                           ENTITY + ".11") or None,
                            timeout=20, what="the subagent back behind the new snmpd")
        assert values[1] == "660007770094"
        log = chassis.log(index, "snmp-agent")
        assert log.rfind("open with") > log.rfind("held until it is back") > 0, log
        try:
            raised = wait_until(lambda: [t for t in traps(trapd)[before:] if t.get(TRAP_OID) == ALERT_RAISED
                                         and any(v == HOT for v in t.values())
                                         and any(k.startswith(PRODUCT + ".1.4.1.3.") and v == str(slot) for k, v in t.items())],
                                timeout=30, what="the held alert-raised inform")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{chassis.log(index, 'snmp-agent')[-3000:]}\n{open(trapd).read()[-3000:]}") from None
        assert raised[0][SENDER] == f"blade{index}"

        def v2c(tool, community, *arguments):
            return subprocess.run([tool, "-v2c", "-c", community, "-On", "-t", "1", "-r", "0", *arguments, f"udp:{address(index)}:{SNMP_PORT}",
                                   ENTITY + ".11.1"], capture_output=True, text=True, env=client_environment, timeout=30)
        right = v2c("snmpget", community)
        assert right.returncode == 0 and '"660007770094"' in right.stdout, right.stdout + right.stderr
        wrong = v2c("snmpget", "public")
        assert wrong.returncode != 0 and "Timeout" in wrong.stderr
        written = subprocess.run(["snmpset", "-v2c", "-c", community, "-On", "-t", "1", "-r", "0", f"udp:{address(index)}:{SNMP_PORT}",
                                  ENTITY + ".14.1", "s", "mine"], capture_output=True, text=True, env=client_environment, timeout=30)
        assert written.returncode != 0, written.stdout
    finally:
        stop_process(process)


def test_no_snmp_secret_in_arguments_logs_or_databases(chassis):
    secrets = [value for key, value in chassis.snmp.items() if key.endswith(("_auth", "_privacy"))]
    assert len(secrets) == 6
    state = chassis.state()
    for blade in state["blades"]:
        for name in ("snmpd", "snmpAgent", "engine", "web"):
            pid = blade.get(name, 0)
            if pid and os.path.exists(f"/proc/{pid}/cmdline"):
                arguments = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
                assert not any(secret in arguments for secret in secrets), (blade["index"], name)
        files = glob.glob(os.path.join(blade["directory"], "*.log")) + glob.glob(os.path.join(blade["directory"], "state", "*"))
        files += glob.glob(os.path.join(blade["runtimeDirectory"], "*.db*"))
        for path in files:
            if os.path.isfile(path):
                data = open(path, "rb").read()
                assert not any(secret.encode() in data for secret in secrets), path
        for path in (os.path.join(blade["directory"], "snmp", "snmpd.conf"), os.path.join(blade["directory"], "snmp", "persist", "snmpd.conf")):
            assert os.stat(path).st_mode & 0o077 == 0, path


def test_chassisctl_writes_the_same_snmpd_configuration_and_users_from_stdin(chassis, tmp_path):
    """`chassisctl snmp config` renders from a blade's [snmp] what the demo's snmpd runs with;
    `chassisctl snmp user` takes the passwords on standard input and writes a 0600 file."""
    credentials = chassis.snmp
    blade = os.path.join(chassis.directory, "blade1", "blade.toml")
    output = tmp_path / "snmpd.conf"
    result = subprocess.run([os.path.join(ROOT, ".build", "debug", "chassisctl"), "snmp", "config", "--config", blade,
                             "--operator", credentials["operator_user"], "--customer", credentials["customer_user"],
                             "--inform-user", credentials["inform_user"], "--agentx-group", "", "--output", str(output)],
                            input=f"{credentials['inform_auth']}\n{credentials['inform_privacy']}\n", capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_text() == open(os.path.join(chassis.directory, "blade1", "snmp", "snmpd.conf")).read()
    assert os.stat(output).st_mode & 0o777 == 0o600
    # Users: into a copy of the configuration whose persistent directory is the test's own.
    copy = tmp_path / "blade.toml"
    copy.write_text(open(blade).read().replace(os.path.join(chassis.directory, "blade1", "snmp", "persist"), str(tmp_path / "persist")))
    ctl_path = os.path.join(ROOT, ".build", "debug", "chassisctl")
    result = subprocess.run([ctl_path, "snmp", "user", "noc", "--config", str(copy)], input="authpass-123\nprivpass-456\n",
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    users = tmp_path / "persist" / "snmpd.conf"
    assert users.read_text() == "createUser noc SHA-256 authpass-123 AES privpass-456\n"
    assert os.stat(users).st_mode & 0o777 == 0o600
    refused = subprocess.run([ctl_path, "snmp", "user", "noc", "--config", str(copy)], input="short\nprivpass-456\n",
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 64 and "8 to 64" in refused.stderr and users.read_text().count("createUser") == 1
