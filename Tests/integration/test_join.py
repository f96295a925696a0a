"""A blade joins a running chassis by naming one member (`[cluster] join_via`): it learns the
others from that blade's /api/v1/cluster (a standby, which redirects to the active manager), is
added by the active manager, and replicates like any other blade.

The test reads the chassis over HTTPS as the demo's admin; the joining engine itself asks the
member it names over the management port (plain HTTP, `join_via = "ADDRESS:PORT"`)."""
import os
import sqlite3

import pytest

from conftest import ctl, demo_chassis, wait_until

PORT = 18680
TLS_PORT = 18643
PEER_PORT = 7680  # not a developer's demo's 7400, nor the other tests'


@pytest.fixture()
def three_blades():
    with demo_chassis(3, PORT, TLS_PORT, PEER_PORT, name="chassis-join") as chassis:
        admin = chassis.admin
        chassis.local = lambda index: admin.get(index, "/api/v1/local").json()
        wait_until(lambda: chassis.local(1)["leaseValid"], timeout=15, what="blade 1 active")
        yield chassis


def test_a_blade_joins_by_naming_one_standby(three_blades):
    chassis = three_blades
    directory, local, admin = chassis.directory, chassis.local, chassis.admin
    ctl("demo", "add", "--via", "2", "--dir", directory)
    with open(os.path.join(directory, "blade4", "blade.toml")) as handle:
        config = handle.read()
    # Its file names one member's web address and lists nobody but itself.
    assert f'join_via = "127.0.1.2:{PORT}"' in config
    assert config.count("[[member]]") == 1 and 'name = "blade4"' in config.split("[[member]]")[1]

    def learnt():
        with open(os.path.join(directory, "blade4", "engine.log")) as handle:
            log = handle.read()
        return log if "members learnt" in log else None

    try:
        log = wait_until(learnt, timeout=20, what="blade 4 to learn the members from blade 2")
    except AssertionError:
        with open(os.path.join(directory, "blade4", "engine.log")) as handle:
            tail = handle.read()[-1500:]
        raise AssertionError(f"blade 4 never learnt the members through join_via; the end of its engine.log:\n{tail}")
    assert "blade1,blade2,blade3" in log.replace("blade4,", ""), log[-2000:]
    wait_until(lambda: local(4)["role"] == "standby" and local(4)["activeAddress"] == "127.0.1.1", timeout=20,
               what="blade 4 a standby that knows the active manager")

    def cluster_lists_blade4():
        members = {m["name"]: m for m in admin.get(1, "/api/v1/cluster").json()["members"]}
        return members.get("blade4", {}).get("role") == "standby" and members["blade4"]["peerPort"] == PEER_PORT

    wait_until(cluster_lists_blade4, timeout=15, what="the active manager's member list with blade 4 as a standby")

    # Replication both ways: the active manager holds blade 4's values, and blade 4 follows the
    # configuration log (a threshold set on the active manager is applied on blade 4 too).
    def active_has_slot4_values():
        slots = {s["slotID"]: s for s in admin.get(1, "/api/v1/chassis").json()["slots"]}
        return any(m.get("value") is not None for m in slots[4]["metrics"])

    wait_until(active_has_slot4_values, timeout=15, what="blade 4's values on the active manager")
    term_before = local(1)["term"]
    ctl("threshold", "cpu.total.utilisation", "--high-warning", "97", "--blade", "1", "--demo-dir", directory)

    def blade4_has_the_threshold():
        path = os.path.join(directory, "blade4", "state", "config.db")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as database:
            rows = database.execute("SELECT high_warning FROM thresholds WHERE metric_key = 'cpu.total.utilisation'").fetchall()
        return rows == [(97.0,)]

    wait_until(blade4_has_the_threshold, timeout=10, what="the threshold replicated to blade 4's config.db")
    assert local(1)["term"] == term_before and local(1)["leaseValid"], "the join disturbed no election"
    assert local(4)["term"] == term_before

    # The member it named is gone when blade 4 restarts: it starts from the members it learnt,
    # and with it the chassis has its majority again (blades 1, 3 and 4 of four).
    chassis.demo("kill", "2")
    chassis.demo("kill", "4")
    chassis.demo("start", "4")
    wait_until(lambda: local(4)["role"] == "standby" and local(4)["activeAddress"] is not None, timeout=30,
               what="blade 4 a standby again without the member it named")
    with open(os.path.join(directory, "blade4", "engine.log")) as handle:
        assert "starting with the members learnt before" in handle.read()
    wait_until(lambda: any(local(i)["leaseValid"] for i in (1, 3, 4)), timeout=15, what="an active manager among 1, 3, 4")
