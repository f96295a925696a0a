# Chassis Manager: the two commands a newcomer needs are `make demo` and `make test`.
# Both install what is missing (Debian packages through apt; for the tests, pinned Python tools
# in a virtual environment under .build, never in the system Python),
# build, and run. Everything else here is a step of those two or a benchmark.

SHELL := /bin/bash
SWIFT ?= swift
BIN_DEBUG := .build/debug
BIN_RELEASE := .build/release
# What the demo needs, and what the tests need besides (browser, partitions, load, the CA's
# trust store, a virtual environment for the Python test tools, the package's build tools, and
# what test_install runs: systemd-analyze, man and col).
DEMO_PACKAGES := libfcgi-dev libsqlite3-dev libsensors-dev lm-sensors nginx iproute2 util-linux libjs-chart.js procps curl snmpd snmp
DEB_PACKAGES := debhelper lintian fakeroot dpkg-dev build-essential
# snmptrapd and smitools (smilint): the SNMP test's notification receiver and the MIB's checker.
TEST_PACKAGES := $(DEMO_PACKAGES) chromium chromium-driver libnss3-tools nftables wrk sqlite3 openssl python3-venv prometheus-alertmanager prometheus redfishtool \
	snmptrapd smitools \
	$(DEB_PACKAGES) systemd man-db bsdextrautils
VENV := .build/venv
PYTHON := $(VENV)/bin/python
SIM_SCHEDULES ?= 2000
SIM_SEED ?= 1
BLADES ?= 4

.PHONY: demo test deps deps-demo build build-release test-unit test-fuzz test-sim test-integration bench bench-web bench-consensus \
	bench-failover bench-replication bench-alerts bench-redfish bench-snmp chaos sim demo-down clean fuzz install deb tsan test-debian12

demo: deps-demo build
	./scripts/demo.sh $(BLADES)

demo-down:
	$(BIN_DEBUG)/chassisctl demo down

test: deps build test-unit test-fuzz test-sim test-integration
	@echo "make test: all suites passed"

deps-demo:
	@./scripts/install-deps.sh $(DEMO_PACKAGES)

deps:
	@./scripts/install-deps.sh $(TEST_PACKAGES) --venv $(VENV) requirements-test.txt

build:
	$(SWIFT) build

build-release:
	$(SWIFT) build -c release

test-unit:
	./scripts/check-unwraps.sh
	$(SWIFT) test

# Coverage-guided fuzzing (libFuzzer) of the parsers that read bytes from outside the process,
# built with swiftc into .build/fuzz: 10 s per target in make test, FUZZ_SECONDS each here.
test-fuzz:
	./scripts/fuzz.sh 10

FUZZ_SECONDS ?= 60
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

# ThreadSanitizer (not in make test: a build of its own into .build/tsan and a slow run): the unit
# tests that share state between threads, then one blade's web app and engine under wrk; fails on
# any report (scripts/tsan.sh says what it runs and its settings).
tsan:
	./scripts/tsan.sh

# Issue 13's proof (not in make test: about 20 minutes on 2 cores, and root): make test passes on a clean
# Debian 12 root (debootstrap minbase with Swift's documented dependencies and make, the toolchain
# bound in, Debian's own python3), from a clean clone of the committed state, under
# /var/tmp/chassis-bookworm. DEBIAN12_FLAGS: --recreate, --uncommitted, --minutes N (see the script).
DEBIAN12_FLAGS ?=
test-debian12:
	./scripts/debian12-proof.sh $(DEBIAN12_FLAGS)

# The consensus core under thousands of random fault schedules, in a release build of the
# simulator only (it depends on nothing but the core): with the core's default timing and with
# the timing chassis-engine runs (Config.engine: 150 ms heartbeats, 100 ms stagger).
test-sim:
	$(SWIFT) build -c release --product chassis-sim
	$(BIN_RELEASE)/chassis-sim --schedules $(SIM_SCHEDULES) --seed $(SIM_SEED)
	$(BIN_RELEASE)/chassis-sim --schedules $(SIM_SCHEDULES) --seed $(SIM_SEED) --engine-timing

test-integration: build
	./scripts/check-nginx-tls.sh
	$(PYTHON) -m pytest -q Tests/integration

sim:
	$(SWIFT) build -c release --product chassis-sim
	$(BIN_RELEASE)/chassis-sim --schedules 100000 --seed $(SIM_SEED)
	$(BIN_RELEASE)/chassis-sim --schedules 100000 --seed $(SIM_SEED) --engine-timing

bench: deps build-release bench-consensus bench-web bench-failover bench-replication bench-alerts bench-redfish bench-snmp

bench-consensus:
	$(SWIFT) build -c release --product chassis-sim
	$(BIN_RELEASE)/chassis-sim --bench

bench-web: build-release
	./scripts/bench-web.sh

bench-failover: build-release
	$(PYTHON) scripts/bench_failover.py

bench-replication: build-release
	$(PYTHON) scripts/bench_replication.py

# Every blade's sensor readings through Redfish (a request a sensor) against /api/v1/chassis (16 blades).
bench-redfish: build-release
	$(PYTHON) scripts/bench_redfish.py

# A full SNMP walk (snmpwalk and snmpbulkwalk, SNMPv3) against /api/v1/chassis (16 blades).
bench-snmp: build-release
	$(PYTHON) scripts/bench_snmp.py

# From a sensor's crossing to the alert in the API and in a real Alertmanager (3 blades).
bench-alerts: build-release
	$(PYTHON) scripts/bench_alerts.py

# Random rounds of kill, pause, partition and packet loss on 3 and 5 blades (a short version runs
# in make test).
chaos: deps build-release
	$(PYTHON) scripts/chaos.py --rounds 20 --blades 3
	$(PYTHON) scripts/chaos.py --rounds 20 --blades 5

# Installs a blade's software (issue 13): PREFIX=/usr DESTDIR=/tmp/root for a package tree.
# CONFIGURATION=debug installs the debug build instead of building a release one (the tests).
PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
install:
	$(SWIFT) build -c $(CONFIGURATION)
	$(SWIFT) build -c $(CONFIGURATION) --product generate-manual
	./scripts/install.sh "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(UNITDIR)" .build/$(CONFIGURATION)

# The Debian package (debhelper), checked by lintian: .build/deb-out/chassis-manager_*.deb.
deb:
	./scripts/install-deps.sh $(DEB_PACKAGES)
	./scripts/build-deb.sh

clean:
	rm -rf .build
