"""Shared helpers for the integration suites: find the adsx binary and run it, generate and
stream a world of events, run `adsx serve` and check its replies against its OpenAPI document."""

import base64
import contextlib
import datetime
import http.client
import importlib
import io
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

import jsonschema
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ADSX_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("ADSX_BUILD_DIR", SOURCE_DIR / "build" / "release"))
ADSX_BIN = os.environ.get("ADSX_BIN", str(BUILD_DIR / "apps" / "adsx" / "adsx"))


def run_adsx(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Runs `adsx ARGS` and returns the CompletedProcess (text mode, output captured)."""
    return subprocess.run(
        [ADSX_BIN, *args],
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stream_env(topic: str, dlq: str, group: str) -> dict[str, str]:
    """This process's environment pointing `adsx stream` (and the generator and lake job) at
    its own events topic, dead-letter topic and consumer group."""
    return dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_KAFKA__DLQ_TOPIC=dlq,
        ADSX_STREAM__GROUP=group,
    )


def job(env: dict[str, str], module: str, *args: str, timeout: float = 900):
    """Runs one of the project's Python jobs as `python -m MODULE ARGS` would from the project
    root with the environment `env`, but in this test process: its `main(ARGS)` with `env` as
    os.environ, stdout and stderr captured, an exception a traceback and exit code 1. PySpark's
    JVM then starts once per suite and stays warm between jobs (spark.stop() ends a job's
    context, not the JVM), which halves a Spark job's time on a test's small lake (a daily job
    44 s cold, 20-25 s warm). Returns a CompletedProcess (text); Spark's own log lines go to
    the process's stderr, not to the result's. Past `timeout` the job fails with TimeoutError."""
    from pyspark.sql import SparkSession

    started = time.monotonic()
    out, err, code = io.StringIO(), io.StringIO(), 0
    saved_env, saved_cwd = dict(os.environ), os.getcwd()

    def overdue(*_):
        raise TimeoutError(f"{module} {' '.join(args)} ran past {timeout} s")

    previous = signal.signal(signal.SIGALRM, overdue)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(SOURCE_DIR)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = importlib.import_module(module).main(list(args)) or 0
            except SystemExit as e:  # argparse's errors, a job's sys.exit
                code = e.code if isinstance(e.code, int) else 1
            except Exception:  # a job's crash: a traceback and exit 1, as from `python -m`
                traceback.print_exc()
                code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if (active := SparkSession.getActiveSession()) is not None:
            active.stop()  # a job that failed half-way: the next one gets a context of its own
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    # Shown by `pytest -s` and on failure: where a slow suite spends its time.
    print(
        f"[run_job] {module} {' '.join(args[:2])}: {time.monotonic() - started:.1f} s", flush=True
    )
    return subprocess.CompletedProcess([module, *args], code, out.getvalue(), err.getvalue())


def run_job(env: dict[str, str], module: str, *args: str, timeout: float = 900):
    """job(…), which must succeed."""
    r = job(env, module, *args, timeout=timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r


def lake_last_day(lake) -> datetime.date:
    """The newest event date in the lake at `lake` (read with DuckDB, on a connection of its own:
    the module's default one is shared by later suites in the process)."""
    import duckdb

    return (
        duckdb.connect()
        .execute(
            f"SELECT max(event_date) FROM read_parquet('{lake}/events/**/*.parquet', "
            "hive_partitioning=true)"
        )
        .fetchone()[0]
    )


def drop_lake_checkpoints(topic: str) -> None:
    """Removes the lake job's checkpoints of `topic` (a test's topic, deleted with it)."""
    from adsx_jobs import config, lake

    shutil.rmtree(lake.checkpoint_dir(config.load(), topic), ignore_errors=True)


@pytest.fixture(scope="session")
def adsx_bin() -> str:
    assert os.access(ADSX_BIN, os.X_OK), f"adsx binary not built: {ADSX_BIN}"
    return ADSX_BIN


KAFKA_JARS = (
    pathlib.Path(os.environ.get("ADSX_CACHE_DIR", pathlib.Path.home() / ".cache" / "adstreamx"))
    / "jvm"
    / "kafka"
)
BOOTSTRAP = os.environ.get("ADSX_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# The stack's Prometheus (its HTTP API).
PROMETHEUS = "http://127.0.0.1:" + os.environ.get("ADSX_PROMETHEUS__PORT", "9090")


def kafka_tool(main_class: str, *args: str, timeout: float = 120) -> str:
    """Runs one of the broker's own command-line tools (not our client) and returns stdout."""
    r = subprocess.run(
        [
            "java",
            f"-Dlog4j.configuration=file:{SOURCE_DIR / 'deploy/kafka/tools-log4j.properties'}",
            "-cp",
            f"{KAFKA_JARS}/*",
            main_class,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, f"{main_class} failed: {r.stderr}"
    return r.stdout


def topic_record_count(topic: str, bootstrap: str = BOOTSTRAP) -> int:
    """Records in a topic according to the broker: the sum of its partitions' end offsets."""
    out = kafka_tool(
        "org.apache.kafka.tools.GetOffsetShell",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--time",
        "-1",
    )
    return sum(int(line.rsplit(":", 1)[1]) for line in out.split())


def delete_topic(topic: str, bootstrap: str = BOOTSTRAP) -> None:
    kafka_tool(
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        bootstrap,
        "--delete",
        "--topic",
        topic,
    )


def consume(topic: str, count: int | None = None, fmt: str = "%p\t%o\t%k\t%s\n") -> list[str]:
    """Reads a topic from the beginning with kcat (librdkafka's CLI, not our code)."""
    args = ["kcat", "-C", "-b", BOOTSTRAP, "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt]
    if count is not None:
        args += ["-c", str(count)]
    r = subprocess.run(args, capture_output=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().splitlines()


def psql(sql: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """Rows of a query on the project database, with psql (not our client), fields as text; the
    database the ADSX_POSTGRES__* overrides name (of `env`, default this process's), as adsx
    reads them."""
    env = os.environ if env is None else env
    r = subprocess.run(
        [
            "psql",
            "-h",
            env.get("ADSX_POSTGRES__HOST", "127.0.0.1"),
            "-p",
            env.get("ADSX_POSTGRES__PORT", "5432"),
            "-U",
            env.get("ADSX_POSTGRES__USER", "adsx"),
            "-d",
            env.get("ADSX_POSTGRES__DATABASE", "adstreamx"),
            "-At",
            "-F",
            "\t",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line]


STACK_FREE = os.environ.get("ADSX_TEST_STACK_FREE") == "1"
OWN_STACK = os.environ.get("ADSX_TEST_OWN_STACK") == "1"


@pytest.fixture(scope="session", autouse=True)
def the_suites_own_stack():
    """A suite registered with OWN_STACK (cmake/adsx_module.cmake) has a whole stack of its own,
    named by its environment: started for the session; at the end, the PII scan of everything
    the suite left there must come out clean (CI's own scan reads the shared stack), then the
    stack is stopped and purged."""
    if not OWN_STACK:
        yield
        return
    with own_stack(dict(os.environ)):
        yield
        scan = subprocess.run(
            [sys.executable, "-m", "adsx_jobs.pii_scan"],
            cwd=SOURCE_DIR, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert scan.returncode == 0, scan.stdout[-4000:] + scan.stderr[-2000:]


@pytest.fixture(scope="session", autouse=True)
def schema_up_to_date(the_suites_own_stack):
    """The stack's PostgreSQL at the checkout's newest migration before any test. `adsx serve`
    and the privacy commands do not migrate (a service does not change a shared schema as it
    starts; they name the missing migration), and ctest's random order may run their suites
    before any suite whose commands do. Not in a suite that uses no stack (ctest runs those
    beside the others: ADSX_TEST_STACK_FREE, see cmake/adsx_module.cmake)."""
    if STACK_FREE:
        return
    try:
        psql("SELECT 1")
    except AssertionError:
        return  # no stack: the tests that need one say so
    m = run_adsx("db", "migrate")
    assert m.returncode == 0, m.stdout + m.stderr


@pytest.fixture(scope="session", autouse=True)
def no_users_erased_before_the_session(schema_up_to_date):
    """Users erased on this stack before the session (`make demo` erases one) would be dropped by
    the generator's edge and given no state by the stream engine, so a generated world's exact
    counts would not hold. They are lifted for the session and put back at its end; erasures
    the tests make are removed by their own modules. (A session killed hard loses the lifted
    rows of privacy_suppressed; the ledger, privacy_requests, still names every erased user.)"""
    if STACK_FREE:
        yield
        return
    try:
        exists = psql("SELECT to_regclass('privacy_suppressed') IS NOT NULL") == [["t"]]
    except AssertionError:
        exists = False  # no stack: the tests that need one say so
    lifted = (
        psql(
            "WITH d AS (DELETE FROM privacy_suppressed RETURNING *) SELECT user_id, suppressed_at FROM d"
        )
        if exists
        else []
    )
    yield
    for user, at in lifted:
        psql(f"INSERT INTO privacy_suppressed VALUES ('{user}', '{at}') ON CONFLICT DO NOTHING")


STACK_SERVICES = ("kafka", "redis", "postgres", "prometheus")


def own_stack_env(var: pathlib.Path, own: tuple[str, ...], **settings: str) -> dict[str, str]:
    """The environment of a stack of a test's own in `var`: the services in `own` are started
    there (on the ports `settings` give them), the others are the shared stack's
    (`managed = false`), so a test can kill or stop one without disturbing other suites."""
    env = dict(os.environ, ADSX_STACK__VAR_DIR=str(var), ADSX_METRICS__PORT="0", **settings)
    for service in STACK_SERVICES:
        if service not in own:
            env[f"ADSX_{service.upper()}__MANAGED"] = "false"
    return env


@contextlib.contextmanager
def own_stack(env: dict[str, str]):
    """The stack `env` names (own_stack_env) started, what a killed earlier run left removed
    first; stopped and purged on leaving."""
    run_adsx("stack", "down", "--purge", env=env)
    up = run_adsx("stack", "up", env=env, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        yield
    finally:
        run_adsx("stack", "down", "--purge", env=env)


def catalog_ad_ids() -> set[int]:
    """The ad ids of the catalog in PostgreSQL."""
    return {int(row[0]) for row in psql("SELECT ad_id FROM ads")}


def personalised(tc: str) -> bool:
    """The test oracle of consent (not our decoder): a TCF v2 core string's PurposesConsent is
    24 bits at bit offset 152; personalisation needs purposes 1, 3 and 4."""
    core = tc.split(".")[0]
    bits = "".join(f"{b:08b}" for b in base64.urlsafe_b64decode(core + "=" * (-len(core) % 4)))
    purposes = bits[152:176]
    return purposes[0] == purposes[2] == purposes[3] == "1"


CLUSTER = os.environ.get("ADSX_REDIS__MODE") == "cluster"


def store_client(env: dict[str, str] | None = None):
    """The online store's Redis as redis-py reaches it (`env`'s, default this process's): one
    server, or Redis Cluster through its seed (ADSX_REDIS__MODE=cluster), where keys are stored
    under their shard's tag (contracts.stored_key)."""
    from adsx_jobs import store

    env = env or os.environ
    return store.client(
        {
            "redis": {
                "host": "127.0.0.1",
                "port": int(env.get("ADSX_REDIS__PORT", "6379")),
                "mode": env.get("ADSX_REDIS__MODE", "single"),
            }
        }
    )


def store_nodes(env: dict[str, str] | None = None) -> list:
    """A client of each server holding keys: the one server, or every master of the cluster
    (for SCAN, MONITOR, DUMP, which see one server's keys)."""
    from adsx_jobs import store

    return store.servers(store_client(env))


def flush_store(env: dict[str, str] | None = None) -> None:
    for node in store_nodes(env):
        node.flushdb()


def generated_and_streamed(prefix: str, events: int, seed: int):
    """Events generated into a topic of the caller's own (prefix.<random>) and streamed into a
    flushed Redis. Returns (environment pointing adsx at that topic, the records as dicts,
    the topics to delete afterwards)."""
    import json
    import uuid

    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"{prefix}.{suffix}", f"{prefix}.{suffix}.dlq"
    env = stream_env(topic, dlq, f"{prefix.replace('.', '-')}-{suffix}")
    flush_store()
    gen = run_adsx("generate", "--events", str(events), "--seed", str(seed), env=env, timeout=600)
    assert gen.returncode == 0, gen.stderr[-2000:]
    stream = run_adsx("stream", "--until-idle", "3", env=env, timeout=600)
    assert stream.returncode == 0, stream.stderr[-3000:]
    records = [json.loads(v) for v in consume(topic, events, "%s\n")]
    return env, records, [topic, dlq]


def scrape(port: int, name: str) -> float | None:
    """The value of the unlabelled sample `name` on a process's /metrics at `port`; None when the
    process does not answer (not serving yet, or gone) or has no such sample."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            found = re.search(rf"^{name} (\S+)$", r.read().decode(), re.M)
    except OSError:
        return None
    return float(found.group(1)) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A running `adsx serve` on a port of its own."""

    def __init__(self, env: dict[str, str]):
        # The suites run beside Spark on CI's two cores, where a request can wait longer for a
        # worker than the 100 ms after which the service sheds it (503): that is the machine's
        # starvation, not the service's fault. They prove replies; load shedding is proven by
        # http's server_test. So their services wait up to 5 s unless a suite says otherwise.
        # Likewise a Redis round trip: beside Spark one took more than the default 50 ms and
        # degraded a healthy reply (CI, test_parity); a dead Redis still fails at once.
        env = {
            "ADSX_SERVE__QUEUE_TIMEOUT_MS": "5000",
            "ADSX_SERVE__REDIS_TIMEOUT_MS": "1000",
            **env,
        }
        # free_port() can race: an outgoing connection of any process may take the ephemeral
        # port before the service binds it. Then the service exits naming it; try another.
        for _ in range(5):
            self.port = free_port()
            self.env = dict(env, ADSX_SERVE__PORT=str(self.port), ADSX_METRICS__PORT="0")
            self.proc = subprocess.Popen(
                [ADSX_BIN, "serve"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            line = self.proc.stdout.readline()
            if line.startswith("serving on http://"):
                return
            err = self.proc.stderr.read()
            if "Address already in use" not in err:
                break
        raise AssertionError(line + err[-2000:])

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def get_json(self, path: str):
        status, headers, data = self.request("GET", path)
        return status, headers, json.loads(data)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        return code, self.proc.stderr.read()


def check_schema(openapi: dict, path: str, method: str, status: int, body: dict) -> None:
    """The reply body must be what /openapi.json says this operation answers with `status`."""
    op = openapi["paths"][path][method]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = openapi["components"]["responses"][resp["$ref"].split("/")[-1]]
    schema = dict(resp["content"]["application/json"]["schema"])
    schema["components"] = openapi["components"]
    jsonschema.Draft202012Validator(schema).validate(body)


@pytest.fixture(scope="session")
def openapi_doc() -> dict:
    """The service's OpenAPI document (what /openapi.json serves: the binary embeds this file)."""
    return json.loads((SOURCE_DIR / "schemas" / "openapi.json").read_text())


def trained_registry(tmp_path_factory, *train_args: str) -> pathlib.Path:
    """A model registry with ctr and cvr models trained by adsx_ml.train on a synthetic training
    set over the catalog's ads, promoted to arm control (`train_args`: more adsx_ml.train
    flags)."""
    ads = [(int(a), int(c)) for a, c in psql("SELECT ad_id, campaign_id FROM ads")]
    root = tmp_path_factory.mktemp("registry")
    from adsx_ml import synthetic

    manifest = synthetic.training_set(tmp_path_factory.mktemp("training") / "set", ads)
    r = subprocess.run(
        [sys.executable, "-m", "adsx_ml.train", "--training-set", str(manifest),
         "--registry", str(root), *train_args],
        cwd=SOURCE_DIR, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert (root / "ctr" / "current" / "control").exists(), r.stdout
    return root


class redis_commands:
    """The commands Redis executes while the `with` block runs (Redis MONITOR on every server
    holding keys, not our client; keys without their cluster hash tags), e.g. to prove which
    keys a request read:

      with redis_commands() as seen:
          service.request("GET", "/features/ad/1")
      assert any("HGETALL a:1" in c for c in seen)
    """

    def __init__(self):
        self._nodes = store_nodes()
        self._seen: list[str] = []
        self._done = False

    def __enter__(self) -> list[str]:
        import re
        import threading
        import time

        def watch(node):
            with node.monitor() as m:
                for cmd in m.listen():
                    self._seen.append(re.sub(r"(?<= )\{[^{}]*\}", "", cmd["command"]))
                    if self._done:
                        return

        self._threads = [
            threading.Thread(target=watch, args=(n,), daemon=True) for n in self._nodes
        ]
        for t in self._threads:
            t.start()
        time.sleep(0.3)  # MONITOR is on before the block's first command
        return self._seen

    def __exit__(self, *exc) -> None:
        import time

        time.sleep(0.3)  # the block's last commands reach the monitor
        self._done = True
        for n in self._nodes:
            n.ping()  # wakes the monitor's read
        for t in self._threads:
            t.join(timeout=5)


def experiment_csv(path: pathlib.Path, seed: int, users: int = 6000, days: int = 5,
                   lift_b: float = 0.08, drop_c: float = 0.0, devices: bool = False):  # fmt: skip
    """Writes per-user-day rows of a three-arm experiment to `path` (arm C losing `drop_c` of its
    users) and returns them as read back (a pandas DataFrame): a CTR of each user's own, B's
    lifted by `lift_b`, heavy-tailed revenue, a pre-period that shares the user's habits, and
    (`devices`) a device column for the breakdown."""
    import numpy as np  # here: most suites need neither
    import pandas as pd

    rng = np.random.default_rng(seed)
    arm = rng.choice(["A", "B", "C"], size=users)
    keep = ~((arm == "C") & (rng.random(users) < drop_c))
    ctr = rng.beta(2, 48, size=users) * np.where(arm == "B", 1 + lift_b, 1.0)
    activity = rng.gamma(2, 0.5, size=users)
    entry = rng.integers(0, days, size=users)
    pre_imps = rng.poisson(20 * activity)
    pre_clicks = rng.binomial(pre_imps, ctr)
    pre_conv = rng.binomial(pre_clicks, 0.1)
    pre_rev = pre_conv * rng.lognormal(3, 1, size=users)
    rows = []
    for d in range(days):
        on = keep & (entry <= d)
        imps = rng.poisson(3 * activity)
        clicks = rng.binomial(imps, np.minimum(ctr, 1))
        conv = rng.binomial(clicks, 0.1)
        rev = conv * rng.lognormal(3, 1, size=users) + (pre_rev * 0.1 * rng.random(users))
        rows.append(pd.DataFrame({
            "user": [f"K1:{u:06x}" for u in np.flatnonzero(on)], "arm": arm[on],
            "day": f"2026-11-{d + 1:02}", "impressions": imps[on], "clicks": clicks[on],
            "conversions": conv[on], "revenue": np.round(rev[on], 6),
            "pre_impressions": pre_imps[on], "pre_clicks": pre_clicks[on],
            "pre_conversions": pre_conv[on], "pre_revenue": np.round(pre_rev[on], 6)}))  # fmt: skip
    df = pd.concat(rows, ignore_index=True)
    if devices:
        device = rng.choice(["ios", "android", "desktop", "ctv"], size=users)
        df["device"] = device[df["user"].map(lambda u: int(u[3:], 16))]
    df.to_csv(path, index=False)
    return pd.read_csv(path, dtype={"user": str, "arm": str, "day": str})


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by playwright (`playwright install` cannot download
    here: the executable is the system's)."""
    import shutil

    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (deploy/apt-packages.txt lists it)"
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def open_report(browser, where):
    """Loads a report page (a file path or a URL) and waits for its charts; returns the page and
    the console errors and page errors it logged."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(where.as_uri() if isinstance(where, pathlib.Path) else where)
    page.wait_for_selector(".chart svg circle.point", timeout=10_000)
    return page, errors
