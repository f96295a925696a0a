"""An engine that cannot keep the protocol's promises stops, and says so with its exit status.

A real engine (one blade, its own temporary state directory, no TCP port) is running as the
active manager when another process holds config.db locked (`BEGIN EXCLUSIVE`, as a stuck backup
or a broken disk would). A change then cannot be persisted: the coordinator fails, the engine
stops its services in order and exits with EX_SOFTWARE (70), the status systemd's unit restarts
on, instead of going on with state it could not write. Started again once the lock is gone, it
comes back from its store with the change it had acknowledged before.
"""
import os
import shutil
import sqlite3
import subprocess
import tempfile

from conftest import BIN, ctl, stop_process, wait_until


def test_a_store_that_refuses_writes_stops_the_engine_with_status_70():
    directory = tempfile.mkdtemp(prefix="chassis-engine-failure-")
    config = os.path.join(directory, "blade.toml")
    with open(config, "w") as handle:
        handle.write(f"""
[blade]
name = "blade1"
address = "127.0.0.1"
slot = 1

[paths]
state_dir = "{directory}/state"
runtime_dir = "{directory}/run"
""")
    log = open(os.path.join(directory, "engine.log"), "w")
    engine = subprocess.Popen([os.path.join(BIN, "chassis-engine"), "--config", config], stdout=log, stderr=subprocess.STDOUT)
    lock = None
    try:
        wait_until(lambda: "role active" in (ctl("status", "--config", config, check=False).stdout or ""), timeout=20,
                   what="the engine to be the active manager")
        ctl("chassis", "--name", "before the lock", "--config", config)

        lock = sqlite3.connect(os.path.join(directory, "state", "config.db"), timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        change = ctl("chassis", "--name", "during the lock", "--config", config, check=False, timeout=30)
        assert change.returncode != 0, "a change the store could not take was acknowledged"
        status = engine.wait(timeout=30)
        assert status == 70, f"the engine exited with {status}"
        with open(os.path.join(directory, "engine.log")) as handle:
            text = handle.read()
        assert "cannot persist consensus state; stopping" in text or "cannot apply committed entry" in text, text[-2000:]
        assert "engine stopped" in text

        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        engine = subprocess.Popen([os.path.join(BIN, "chassis-engine"), "--config", config], stdout=log,
                                  stderr=subprocess.STDOUT)
        status = wait_until(lambda: (lambda out: out if "role active" in out else None)(
            ctl("status", "--config", config, check=False).stdout or ""), timeout=20, what="the engine back")
        assert "before the lock" in status, status[:500]
    finally:
        if lock is not None:
            lock.close()
        stop_process(engine)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)
