"""The Redfish service (`/redfish/v1`) of a real 2-blade demo chassis over HTTPS:

- the service root, its OData document and `$metadata` without credentials; everything else
  refused without them; a wrong password refused (401) at the Redfish login;
- a Redfish session (`POST …/SessionService/Sessions`, `X-Auth-Token`) reads the enclosure and
  the blades (`Contains` / `ContainedBy`), the blades' sensors with their thresholds, the
  enclosure's power supplies and fans, each blade as a manager with the active one `Enabled`,
  and (an admin) the accounts; logging out ends the token;
- a customer sees its blades only: not the enclosure, not another slot, not the managers or the
  accounts;
- DMTF's own `redfish-service-validator` (PyPI) crawls the whole service with 0 failures, offline,
  with DMTF's schemas from `../shared/redfish-schemas/csdl` (skipped when that folder is absent);
- Debian's `redfishtool` reads the chassis collection (skipped when it is not installed).

Its own demo: HTTP 19720, HTTPS 19723, peer port 7720.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, demo_chassis, request

PORT = 19720
TLS_PORT = 19723
PEER_PORT = 7720
SCHEMAS = os.path.abspath(os.path.join(ROOT, "..", "shared", "redfish-schemas", "csdl"))
VALIDATOR = os.path.join(ROOT, ".build", "venv", "bin", "rf_service_validator")


@pytest.fixture(scope="module")
def chassis():
    with demo_chassis(2, PORT, TLS_PORT, PEER_PORT, name="chassis-redfish") as chassis:
        yield chassis


def get(chassis, path, token=None, method="GET", body=None, index=None):
    headers = {"OData-Version": "4.0"}
    if token:
        headers["X-Auth-Token"] = token
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    return request(chassis.address(index or chassis.active_index()), path, method=method, body=body, headers=headers,
                   port=chassis.tls_port, ca=chassis.ca)


def login(chassis, user, password):
    reply = get(chassis, "/redfish/v1/SessionService/Sessions", method="POST", body={"UserName": user, "Password": password})
    assert reply.status == 201, reply.text
    token = reply.headers["x-auth-token"]
    assert token and reply.headers["location"].startswith("/redfish/v1/SessionService/Sessions/")
    return token, reply.headers["location"]


def test_the_service_root_is_open_and_everything_else_needs_a_login(chassis):
    root = get(chassis, "/redfish/v1/")
    assert root.status == 200 and root.headers["odata-version"] == "4.0"
    document = root.json()
    assert document["Links"]["Sessions"]["@odata.id"] == "/redfish/v1/SessionService/Sessions"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", document["UUID"])
    assert get(chassis, "/redfish").json() == {"v1": "/redfish/v1/"}
    assert get(chassis, "/redfish/v1/$metadata").text.startswith("<?xml")
    assert get(chassis, "/redfish/v1/odata").json()["value"]
    for path in ("/redfish/v1/Chassis", "/redfish/v1/Managers", "/redfish/v1/AccountService/Accounts"):
        assert get(chassis, path).status == 401, path
    wrong = get(chassis, "/redfish/v1/SessionService/Sessions", method="POST", body={"UserName": "admin", "Password": "wrong"})
    assert wrong.status == 401
    assert "x-auth-token" not in wrong.headers
    assert get(chassis, "/redfish/v1/Chassis", token="not-a-session").status == 401


def test_a_session_reads_the_chassis_its_blades_sensors_power_and_managers(chassis):
    token, location = login(chassis, "admin", chassis.password("admin"))
    collection = get(chassis, "/redfish/v1/Chassis", token=token).json()
    members = [m["@odata.id"] for m in collection["Members"]]
    assert members == ["/redfish/v1/Chassis/660007770088", "/redfish/v1/Chassis/Slot1", "/redfish/v1/Chassis/Slot2"]
    assert collection["Members@odata.count"] == 3
    enclosure = get(chassis, "/redfish/v1/Chassis/660007770088", token=token).json()
    assert enclosure["ChassisType"] == "Enclosure"
    assert [c["@odata.id"] for c in enclosure["Links"]["Contains"]] == members[1:]
    blade = get(chassis, "/redfish/v1/Chassis/Slot2", token=token).json()
    assert blade["ChassisType"] == "Blade" and blade["PowerState"] == "On" and blade["SerialNumber"]
    assert blade["Links"]["ContainedBy"]["@odata.id"] == "/redfish/v1/Chassis/660007770088"
    api = chassis.request(chassis.active_index(), "/api/v1/chassis/660007770088/slots/2", auth=chassis.admin).json()["slot"]
    assert blade["SerialNumber"] == api["module"]["serial"]

    sensors = get(chassis, "/redfish/v1/Chassis/Slot2/Sensors", token=token).json()["Members"]
    temperatures = []
    for member in sensors:
        sensor = get(chassis, member["@odata.id"], token=token).json()
        if sensor["ReadingType"] == "Temperature":
            temperatures.append(sensor)
    assert temperatures and any("UpperCritical" in t.get("Thresholds", {}) for t in temperatures), temperatures[:2]
    assert all(t["ReadingUnits"] == "Cel" for t in temperatures)

    supplies = get(chassis, "/redfish/v1/Chassis/660007770088/PowerSubsystem/PowerSupplies", token=token).json()["Members"]
    assert len(supplies) == 2
    assert get(chassis, supplies[0]["@odata.id"], token=token).json()["Status"]["Health"] == "OK"
    fans = get(chassis, "/redfish/v1/Chassis/660007770088/ThermalSubsystem/Fans", token=token).json()["Members"]
    assert len(fans) == 4
    assert get(chassis, fans[0]["@odata.id"], token=token).json()["SpeedPercent"]["SpeedRPM"] > 0

    managers = get(chassis, "/redfish/v1/Managers", token=token).json()["Members"]
    states = {m["@odata.id"]: get(chassis, m["@odata.id"], token=token).json()["Status"]["State"] for m in managers}
    active = chassis.active_index()
    assert states == {f"/redfish/v1/Managers/blade{i}": "Enabled" if i == active else "StandbySpare" for i in (1, 2)}, states

    accounts = get(chassis, "/redfish/v1/AccountService/Accounts", token=token).json()["Members"]
    names = {m["@odata.id"].rsplit("/", 1)[1] for m in accounts}
    assert {"admin", "customer-a"} <= names
    assert get(chassis, "/redfish/v1/AccountService/Accounts/admin", token=token).json()["RoleId"] == "Administrator"
    assert get(chassis, "/redfish/v1/AccountService/Accounts/admin", token=token).json()["Password"] is None

    assert get(chassis, location, token=token).json()["UserName"] == "admin"
    assert get(chassis, location, token=token, method="DELETE").status == 204
    assert get(chassis, "/redfish/v1/Chassis", token=token).status == 401, "the session outlived its logout"


def test_a_customer_sees_its_blades_only(chassis):
    token, _ = login(chassis, "customer-a", chassis.password("customer-a"))
    members = [m["@odata.id"] for m in get(chassis, "/redfish/v1/Chassis", token=token).json()["Members"]]
    assert members == ["/redfish/v1/Chassis/Slot2"], members
    assert get(chassis, "/redfish/v1/Chassis/Slot2", token=token).status == 200
    assert "ContainedBy" not in get(chassis, "/redfish/v1/Chassis/Slot2", token=token).json()["Links"]
    for path in ("/redfish/v1/Chassis/Slot1", "/redfish/v1/Chassis/660007770088",
                 "/redfish/v1/Chassis/660007770088/PowerSubsystem", "/redfish/v1/Chassis/Slot1/Sensors"):
        assert get(chassis, path, token=token).status == 404, path
    for path in ("/redfish/v1/Managers", "/redfish/v1/AccountService/Accounts"):
        assert get(chassis, path, token=token).status == 403, path


def test_dmtfs_validator_finds_nothing_wrong(chassis, tmp_path):
    if not os.path.isdir(SCHEMAS):
        pytest.skip(f"DMTF's schemas are not at {SCHEMAS}")
    if not os.path.exists(VALIDATOR):
        pytest.skip("redfish-service-validator is not installed (make deps)")
    active = chassis.active_index()
    result = subprocess.run([VALIDATOR, "--ip", f"https://{chassis.address(active)}:{chassis.tls_port}", "-u", "admin",
                             "-p", chassis.password("admin"), "--authtype", "Session", "--schema_directory", SCHEMAS,
                             "--skipschema", "--logdir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # The closing table: | PASS | WARN | FAIL | NOT TESTED |, then the counts.
    table = re.search(r"\|\s*PASS\s*\|\s*WARN\s*\|\s*FAIL\s*\|\s*NOT TESTED\s*\|\s*\n[+-]+\n\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|",
                      output)
    assert table, output[-2000:]
    passed, warned, failed, untested = (int(value) for value in table.groups())
    assert failed == 0 and warned == 0, output[-4000:]
    assert passed > 500, output[-2000:]
    print(f"\nredfish-service-validator: {passed} passed, {warned} warnings, {failed} failed, {untested} not tested")


def test_redfishtool_reads_the_chassis(chassis):
    tool = shutil.which("redfishtool")
    if not tool:
        pytest.skip("redfishtool is not installed (Debian redfishtool)")
    active = chassis.active_index()
    result = subprocess.run([tool, "-r", f"{chassis.address(active)}:{chassis.tls_port}", "-S", "Always", "-u", "admin",
                             "-p", chassis.password("admin"), "-A", "Session", "Chassis", "list"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/redfish/v1/Chassis/Slot1" in result.stdout, result.stdout
