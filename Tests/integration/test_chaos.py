"""A short chaos run (scripts/chaos.py): a few rounds of random faults on a three-blade chassis of
debug-build processes, with the never-two-active poller running throughout. Every check of
every round must hold: an active manager within 5 s of the heal, all blades agreeing on it and the
term, every acknowledged change on every blade. `make chaos` runs the long version.

The seed is fixed so that a failure replays; set CHASSIS_CHAOS_SEED to explore others."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))

import chaos  # noqa: E402

PORT = 18800
TLS_PORT = 18843
PEER_PORT = 7800
ROUNDS = int(os.environ.get("CHASSIS_CHAOS_ROUNDS", "6"))
SEED = int(os.environ.get("CHASSIS_CHAOS_SEED", "1"))


def test_chaos_rounds_on_three_blades_never_violate_an_invariant():
    lines = []

    def log(line):
        lines.append(line)
        print(line, flush=True)

    rounds, faults, violations = chaos.run(3, ROUNDS, SEED, build="debug", port=PORT, tls_port=TLS_PORT,
                                           peer_port=PEER_PORT,
                                           directory=f"/tmp/chassis-chaos-test-{os.getpid()}", hold_min=1.0,
                                           hold_max=2.5, log=log)
    summary = f"chaos: rounds={rounds} faults={faults} violations={len(violations)}"
    print(summary)
    assert rounds == ROUNDS
    assert faults >= ROUNDS
    assert violations == [], f"seed {SEED}: {summary}\n" + "\n".join(f"round {r}: {w}" for r, w in violations)
