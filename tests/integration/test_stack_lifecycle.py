"""`adsx stack up|down|status` on a second, isolated stack (own var dir and ports), driven
through the real binary exactly as a user runs it. The tests run in file order: up, up again,
status, Redis settings, down, up again, taken port, purge."""

import os
import pathlib
import socket

import pytest
import redis
from conftest import BUILD_DIR, run_adsx

VAR = BUILD_DIR / "it-stack" / "var"
PORTS = {
    "kafka": 19092,
    "controller": 19093,
    "redis": 16379,
    "postgres": 15432,
    "prometheus": 19090,
}
SERVICES = ["kafka", "redis", "postgres", "prometheus"]


def stack_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ADSX_STACK__VAR_DIR=str(VAR),
        ADSX_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{PORTS['kafka']}",
        ADSX_KAFKA__CONTROLLER_PORT=str(PORTS["controller"]),
        ADSX_KAFKA__HEAP="512m",
        ADSX_REDIS__PORT=str(PORTS["redis"]),
        ADSX_POSTGRES__PORT=str(PORTS["postgres"]),
        ADSX_PROMETHEUS__PORT=str(PORTS["prometheus"]),
    )
    return env


def pids() -> dict[str, int]:
    run = VAR / "run"
    return {p.stem: int(p.read_text()) for p in run.glob("*.pid")} if run.exists() else {}


def processes_under_var() -> list[str]:
    """Every live process whose working directory or command line lies under VAR."""
    found = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd.startswith(str(VAR)) or str(VAR) in cmd):
            found.append(f"{proc.name}: {cmd[:120]}")
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@pytest.fixture(scope="module", autouse=True)
def isolated_stack():
    run_adsx("stack", "down", "--purge", env=stack_env())
    yield
    run_adsx("stack", "down", "--purge", env=stack_env())


def test_up_starts_every_service_and_proves_it_works():
    r = run_adsx("stack", "up", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    for name in SERVICES:
        assert any(line.startswith(name) and "started" in line for line in r.stdout.splitlines()), (
            r.stdout
        )
    assert sorted(pids()) == sorted(SERVICES)
    assert all(pid_alive(p) for p in pids().values())


def test_up_twice_is_a_no_op():
    before = pids()
    r = run_adsx("stack", "up", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("already running") == len(SERVICES), r.stdout
    assert "starting" not in r.stdout
    assert pids() == before


def test_status_prints_state_address_and_version_of_each_service():
    r = run_adsx("stack", "status", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}
    assert rows["kafka"][1:4] == ["running", f"127.0.0.1:{PORTS['kafka']}", "3.9.2"]
    assert rows["redis"][3].startswith("7.")
    assert rows["postgres"][3].startswith("15.")
    assert rows["prometheus"][3].startswith("2.")
    assert all(rows[s][4] == str(pids()[s]) for s in SERVICES)


def test_redis_runs_with_the_settings_the_readme_promises():
    """Snapshots every [redis] snapshot_s, uncompressed; no append-only file; users' hashes
    kept as listpacks; bounded memory that refuses writes rather than evicting features
    (src/adsx/stack/services.cc says why each)."""
    r = redis.Redis(port=PORTS["redis"], decode_responses=True)
    got = {k: r.config_get(k)[k] for k in EXPECTED_REDIS}
    assert got == EXPECTED_REDIS


EXPECTED_REDIS = {
    "save": "300 1",
    "rdbcompression": "no",
    "appendonly": "no",
    "hash-max-listpack-value": "1024",
    "maxmemory": str(2 * 1024**3),
    "maxmemory-policy": "noeviction",
}


def test_down_stops_every_process_it_started_and_keeps_data():
    # Redis keeps no append-only file: what it holds must be in the snapshot written on the
    # way down (the next test starts it again).
    redis.Redis(port=PORTS["redis"]).set("it:kept", "yes")
    before = pids()
    r = run_adsx("stack", "down", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p for p in before.values() if pid_alive(p)] == []
    assert processes_under_var() == []
    assert pids() == {}
    assert (VAR / "postgres" / "PG_VERSION").exists()
    assert (VAR / "kafka" / "data" / "meta.properties").exists()
    status = run_adsx("stack", "status", env=stack_env())
    assert status.returncode == 1
    assert status.stdout.count("stopped") == len(SERVICES), status.stdout


def test_up_again_has_what_redis_held_before_down():
    r = run_adsx("stack", "up", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert redis.Redis(port=PORTS["redis"]).get("it:kept") == b"yes"
    r = run_adsx("stack", "down", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr


def test_taken_port_fails_clearly_before_starting_anything():
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", PORTS["postgres"]))
    squatter.listen()
    try:
        r = run_adsx("stack", "up", env=stack_env())
    finally:
        squatter.close()
    assert r.returncode == 1, r.stdout + r.stderr
    msg = r.stderr
    assert f"port {PORTS['postgres']}" in msg, msg
    assert f"pid {os.getpid()}" in msg, msg  # names who holds it
    assert "postgres.port" in msg and "ADSX_POSTGRES__PORT" in msg, msg
    assert pids() == {} and processes_under_var() == []


def test_down_purge_removes_var():
    r = run_adsx("stack", "down", "--purge", env=stack_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert not VAR.exists()
