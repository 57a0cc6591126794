"""Start-up refuses what it cannot serve with: one line on stderr naming the setting or the file, a non-zero
exit, no traceback and no hang; only then does it say "serving on"."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.process import logistics_command, service_environment

START_TIMEOUT_S = 60

Prepare = Callable[[Path, dict[str, str]], None]


def _set(**settings: str) -> Prepare:
    def prepare(workdir: Path, env: dict[str, str]) -> None:
        env.update({f"LOGISTICS_{name.upper()}": value for name, value in settings.items()})

    return prepare


def _corrupt_database(workdir: Path, env: dict[str, str]) -> None:
    Path(env["LOGISTICS_DATABASE_PATH"]).write_bytes(b"this is not a database " * 400)


def _damaged_header(workdir: Path, env: dict[str, str]) -> None:
    path = Path(env["LOGISTICS_DATABASE_PATH"])
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    raw = bytearray(path.read_bytes())
    raw[16:24] = b"\xff" * 8  # page size and format bytes
    path.write_bytes(bytes(raw))


def _newer_schema(workdir: Path, env: dict[str, str]) -> None:
    with sqlite3.connect(env["LOGISTICS_DATABASE_PATH"]) as db:
        db.execute("PRAGMA user_version=9999")


def _database_is_a_folder(workdir: Path, env: dict[str, str]) -> None:
    Path(env["LOGISTICS_DATABASE_PATH"]).mkdir()


def _file(variable: str, name: str, text: str) -> Prepare:
    """Write ``text`` to ``name`` in the work folder and point the environment ``variable`` at it."""

    def prepare(workdir: Path, env: dict[str, str]) -> None:
        path = workdir / name
        path.write_text(text, encoding="utf-8")
        env[variable] = str(path)

    return prepare


def _coverage(text: str) -> Prepare:
    return _file("LOGISTICS_COVERAGE_PATH", "coverage.yaml", text)


def _config_file(text: str) -> Prepare:
    return _file("LOGISTICS_CONFIG_FILE", "config.yaml", text)


def _sample_coverage_with_carrier(carrier: str) -> str:
    sample = Path(__file__).resolve().parents[2] / "logistics" / "coverage" / "sample-coverage.yaml"
    return sample.read_text(encoding="utf-8").replace("return_carrier: sim", f"return_carrier: {carrier}", 1)


def _port_in_use(holder: list[socket.socket]) -> Prepare:
    def prepare(workdir: Path, env: dict[str, str]) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        holder.append(sock)
        env["LOGISTICS_PORT"] = str(sock.getsockname()[1])

    return prepare


HELD: list[socket.socket] = []

CASES: dict[str, tuple[Prepare, str]] = {
    "an unknown log level": (_set(log_level="LOUD"), "log_level"),
    "a host that is no address": (_set(host="256.0.0.1"), "host"),
    "a host with spaces": (_set(host="local host"), "host"),
    "a public URL that is no URL": (_set(public_base_url="not a url"), "public_base_url"),
    "a public URL without http": (_set(public_base_url="ftp://example.com"), "public_base_url"),
    "a port out of range": (_set(port="70000"), "port"),
    "a port in use": (_port_in_use(HELD), "port"),
    "a database that is not one": (_corrupt_database, "database_path"),
    "a database with a damaged header": (_damaged_header, "database_path"),
    "a database from a newer release": (_newer_schema, "database_path"),
    "a database path that is a folder": (_database_is_a_folder, "database_path"),
    "a coverage file that is missing": (_set(coverage_path="/nonexistent/coverage.yaml"), "coverage_path"),
    "a coverage file that is not YAML": (_coverage("centres: [\n"), "coverage_path"),
    "a coverage that books with a carrier not enabled": (
        _coverage(_sample_coverage_with_carrier("ups")),
        "coverage_path",
    ),
    "a coverage whose carrier is disabled": (_set(disabled_carriers='["sim"]'), "coverage_path"),
    "a configuration file that is not YAML": (_config_file("host: [\n"), "config"),
    "a configuration file with an unknown setting": (_config_file("hots: 127.0.0.1\n"), "hots"),
    "a lease shorter than a carrier call": (_set(booking_lease_s="1"), "booking_lease_s"),
}


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:  # a hang is the failure this test is for
        raise AssertionError(f"{command[-1]} hung: {exc.stdout!r} {exc.stderr!r}") from None


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_start_is_one_line_naming_what_is_wrong(tmp_path: Path, case: str) -> None:
    prepare, named = CASES[case]
    env = service_environment(tmp_path, port=0)
    prepare(tmp_path, env)
    try:
        done = _run(logistics_command("serve"), env)
    finally:
        for sock in HELD:
            sock.close()
        HELD.clear()
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert named in lines[0], lines[0]
    if named == "coverage_path" and len(lines) > 1:
        # A coverage file with problems: the first line names the file, then ``coverage check``'s report.
        assert lines[1].endswith("problem(s)") and all(line.startswith("  - ") for line in lines[2:]), lines
    else:
        assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "serving on" not in done.stdout


@pytest.mark.parametrize("case", ["a database that is not one", "a database from a newer release"])
def test_migrate_refuses_a_bad_database_in_one_line(tmp_path: Path, case: str) -> None:
    prepare, named = CASES[case]
    env = service_environment(tmp_path, port=0)
    prepare(tmp_path, env)
    done = _run(logistics_command("migrate"), env)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_a_read_only_database_folder_is_one_line(tmp_path: Path) -> None:
    # Root writes through file permissions: a read-only mount, in a private mount namespace, is what refuses it.
    folder = tmp_path / "readonly"
    folder.mkdir()
    env = service_environment(folder, port=0)
    script = f'mount -t tmpfs -o ro,size=1m tmpfs "{folder}" && exec "$0" "$@"'
    done = _run(["unshare", "-m", "sh", "-c", script, *logistics_command("serve")], env)
    if "mount" in done.stderr and "permission denied" in done.stderr.lower():
        pytest.skip("this machine allows no private mounts")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "database_path" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
