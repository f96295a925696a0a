"""The Debian package (issue 13): `make deb` builds it with debhelper and lintian finds no error;
on this machine it installs (the chassis user, the directories, the configuration readable by
root and chassis only, the first administrator's password), upgrades to a newer version keeping
the operator's configuration and the password, and purges cleanly.

It installs into this machine's root for real (the CI machine is fresh; a developer's machine
gets everything removed again by the purge), and skips when a chassis-manager package is
installed already (someone's real one).
"""
import grp
import os
import pwd
import stat
import subprocess

import pytest

from conftest import ROOT


def run(*arguments, timeout=1800, environment=None):
    return subprocess.run(list(arguments), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(environment or {})})


def installed_version():
    result = run("dpkg-query", "-W", "-f=${Status} ${Version}", "chassis-manager")
    return result.stdout.split()[-1] if result.returncode == 0 and "install ok installed" in result.stdout else None


@pytest.fixture(scope="module")
def packages():
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    if installed_version() is not None:
        pytest.skip("a chassis-manager package is installed on this machine already")
    built = {}
    for version in ("0.11.0~test1", "0.11.0~test2"):  # lintian checks the first
        result = run("make", "--no-print-directory", "deb",
                     environment={"VERSION": version, "LINTIAN": "1" if version.endswith("1") else "0"})
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        path = result.stdout.strip().splitlines()[-1]
        assert path.endswith(".deb") and os.path.exists(os.path.join(ROOT, path)), result.stdout[-2000:]
        built[version] = os.path.join(ROOT, path)
    yield built
    if run("dpkg-query", "-W", "chassis-manager").returncode == 0:  # in any state, even half-configured
        run("dpkg", "--purge", "--force-all", "chassis-manager")


def owner(path):
    status = os.stat(path)
    return pwd.getpwuid(status.st_uid).pw_name, grp.getgrgid(status.st_gid).gr_name, stat.S_IMODE(status.st_mode)


def test_lintian_finds_no_error(packages):
    report = open(os.path.join(ROOT, ".build/deb-out/lintian.txt")).read()
    assert not [line for line in report.splitlines() if line.startswith("E:")], report


def test_the_package_installs_upgrades_and_purges_cleanly(packages):
    first = run("dpkg", "-i", packages["0.11.0~test1"])
    assert first.returncode == 0, first.stdout + first.stderr
    try:
        assert installed_version() == "0.11.0~test1"
        assert pwd.getpwnam("chassis").pw_dir == "/var/lib/chassis"
        assert owner("/etc/chassis") == ("root", "chassis", 0o750)
        assert owner("/etc/chassis/blade.toml") == ("root", "chassis", 0o640)
        assert owner("/etc/chassis/admin-password") == ("root", "root", 0o600)
        assert owner("/var/lib/chassis") == ("chassis", "chassis", 0o750)
        assert owner("/var/lib/chassis/first-admin")[:2] == ("chassis", "chassis")
        assert "sudo cat /etc/chassis/admin-password" in first.stdout
        for unit in ("chassis-engine.service", "chassis-web.service", "chassis-nginx.service", "chassis-nginx-reload.path"):
            assert os.path.exists(f"/lib/systemd/system/{unit}"), unit
        assert run("/usr/bin/chassis-engine", "--help").returncode == 0
        assert run("/usr/bin/chassisctl", "--help").returncode == 0
        # chassisctl reads /etc/chassis/blade.toml without --config, and finds the installed template.
        prefix = os.path.join(ROOT, ".build/deb-out/nginx-prefix")
        rendered = run("/usr/bin/chassisctl", "nginx-config", "--prefix", prefix)
        assert rendered.returncode == 0, rendered.stderr
        assert "listen 127.0.1.1:8080;" in open(os.path.join(prefix, "nginx.conf")).read()
        # The programs need no Swift toolchain: the runtime is linked in.
        libraries = run("ldd", "/usr/bin/chassis-web").stdout
        assert "libswiftCore" not in libraries and "not found" not in libraries, libraries
        password = open("/etc/chassis/admin-password").read()
        with open("/etc/chassis/blade.toml", "a") as configuration:
            configuration.write("# the operator's edit\n")

        upgrade = run("dpkg", "-i", packages["0.11.0~test2"])
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        assert installed_version() == "0.11.0~test2"
        assert open("/etc/chassis/blade.toml").read().endswith("# the operator's edit\n")
        assert open("/etc/chassis/admin-password").read() == password, "an upgrade makes no new administrator"
        assert owner("/etc/chassis/blade.toml") == ("root", "chassis", 0o640)
    finally:
        purge = run("dpkg", "--purge", "chassis-manager")
        if purge.returncode != 0:
            run("dpkg", "--purge", "--force-all", "chassis-manager")
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert installed_version() is None
    for path in ("/etc/chassis", "/var/lib/chassis", "/usr/bin/chassis-engine", "/lib/systemd/system/chassis-engine.service"):
        assert not os.path.exists(path), f"{path} is left after the purge"
