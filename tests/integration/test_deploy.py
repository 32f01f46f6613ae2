"""The Docker deployment (Dockerfile, deploy/compose.yaml), checked without a container engine
(none runs here): hadolint passes the Dockerfile; Debian's docker-compose (v1) accepts the
compose file; the compose Prometheus's configuration and rules pass promtool; and what the
images would run is tried on this machine's own build:
  - every ADSX_ variable the images and the compose file set names a real setting, and under
    them `adsx config show` and the Python jobs' config resolve the image's layout (config,
    migrations, the data volume) and the compose services' addresses;
  - the package lists the build stages derive (the toolchain and C++ library sections of
    deploy/apt-packages.txt; the runtime packages from adsx's own shared libraries) name real
    Debian packages, and the runtime list covers every library adsx loads."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ADSX_BIN, SOURCE_DIR, run_adsx

DOCKERFILE = SOURCE_DIR / "Dockerfile"
COMPOSE = SOURCE_DIR / "deploy" / "compose.yaml"
IMAGE_ROOT = "/opt/adstreamx"  # where the images put the project (config/, deploy/, var/)
VENV_BIN = Path(os.environ.get("ADSX_VENV_BIN", SOURCE_DIR / ".venv" / "bin"))


def stage(name: str) -> str:
    """One stage of the Dockerfile, from its FROM line on, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return next(
        s for s in re.split(r"^FROM ", text, flags=re.M) if re.match(rf"\S+ AS {name}\n", s)
    )


def stage_env(name: str) -> dict[str, str]:
    """The ENV of one stage (KEY=VALUE pairs)."""
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", stage(name), re.M):
        env.update(kv.split("=", 1) for kv in line.split())
    return env


@functools.cache
def compose_config() -> dict:
    """The compose file as `docker-compose config` renders it (once per session)."""
    r = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config"], capture_output=True,
                       text=True, timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def setting_names() -> set[str]:
    """The ADSX_SECTION__KEY name of every setting, as `adsx config show` lists them."""
    r = run_adsx("config", "show")
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"\[(ADSX_[A-Z0-9_]+)\]$", r.stdout, re.M))


def test_hadolint_passes_the_dockerfile():
    r = subprocess.run([str(VENV_BIN / "hadolint"), "--config", str(SOURCE_DIR / ".hadolint.yaml"),
                        str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    # The linter does find faults: a `latest` base image and a shell-form entrypoint.
    bad = DOCKERFILE.read_text().replace("FROM debian:12-slim AS adsx", "FROM debian AS adsx")
    bad = bad.replace('ENTRYPOINT ["adsx"]', "ENTRYPOINT adsx")
    r = subprocess.run([str(VENV_BIN / "hadolint"), "-"], input=bad, capture_output=True,
                       text=True, timeout=60, check=False)  # fmt: skip
    assert r.returncode != 0 and "DL3006" in r.stdout and "DL3025" in r.stdout, r.stdout


def test_compose_file_is_valid_and_runs_the_stack_and_adsx():
    cfg = compose_config()
    services = cfg["services"]
    assert {"kafka", "redis", "postgres", "prometheus", "init", "serve", "stream", "lag"} <= set(
        services
    )
    assert {"generate", "jobs"} <= set(services)  # on demand (profile tools)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    for name in ("init", "serve", "stream", "lag", "generate"):
        assert services[name]["build"]["target"] == "adsx"
        assert services[name]["volumes"][0].startswith("adsx-var:/opt/adstreamx/var")
    assert services["jobs"]["build"]["target"] == "jobs"
    # Start order: the stores healthy → init done → serve healthy (it creates the topics) →
    # the stream workers.
    assert services["serve"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["stream"]["depends_on"]["serve"]["condition"] == "service_healthy"
    for store in ("kafka", "redis", "postgres"):
        assert services["init"]["depends_on"][store]["condition"] == "service_healthy"
        assert "healthcheck" in services[store]


def test_every_adsx_variable_names_a_setting():
    known = setting_names() | {"ADSX_CONFIG", "ADSX_CACHE_DIR", "ADSX_HEALTH_URL"}
    used = set(stage_env("adsx")) | set(stage_env("jobs"))
    for svc in compose_config()["services"].values():
        used |= set(svc.get("environment") or {})
    unknown = {v for v in used if v.startswith("ADSX_")} - known
    assert not unknown, f"not settings: {sorted(unknown)}"


@pytest.fixture
def image_layout(tmp_path: Path) -> Path:
    """The files the adsx image copies, at the image's paths under tmp_path."""
    root = tmp_path / IMAGE_ROOT.lstrip("/")
    shutil.copytree(SOURCE_DIR / "config", root / "config")
    shutil.copytree(SOURCE_DIR / "deploy" / "postgres" / "migrations",
                    root / "deploy" / "postgres" / "migrations")  # fmt: skip
    shutil.copytree(SOURCE_DIR / "schemas", root / "schemas")  # the jobs image's
    return tmp_path


def container_env(tmp: Path, stage: str, service: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADSX_")}
    env.update(stage_env(stage))
    env.update(compose_config()["services"][service].get("environment") or {})
    env["ADSX_CONFIG"] = str(tmp) + env["ADSX_CONFIG"]
    return env


def test_adsx_in_the_image_layout_uses_the_volume_and_the_compose_services(image_layout: Path):
    env = container_env(image_layout, "adsx", "stream")
    r = run_adsx("config", "show", env=env)
    assert r.returncode == 0, r.stderr
    shown = dict(re.findall(r"^([a-z_]+\.[a-z_]+) = (\S+)", r.stdout, re.M))
    root = f"{image_layout}{IMAGE_ROOT}"
    for key in ("stack.var_dir", "privacy.hmac_key_file", "models.dir", "lake.dir",
                "serve.admin_token_file"):  # fmt: skip
        path = shown[key].strip('"')
        assert path == f"{root}/var" or path.startswith(f"{root}/var/"), key  # in the volume
    assert shown["stack.deploy_dir"] == f'"{root}/deploy"'
    assert (image_layout / IMAGE_ROOT.lstrip("/") / "deploy/postgres/migrations").is_dir()
    assert shown["kafka.bootstrap_servers"] == '"kafka:9092"'
    assert shown["redis.host"] == '"redis"' and shown["postgres.host"] == '"postgres"'
    for svc in ("kafka", "redis", "postgres", "prometheus"):
        assert shown[f"{svc}.managed"] == "false"  # the images start no store of their own
    assert shown["serve.host"] == '"0.0.0.0"' and shown["metrics.host"] == '"0.0.0.0"'


def test_jobs_in_the_image_layout_read_the_same_settings(image_layout: Path):
    env = container_env(image_layout, "jobs", "jobs")
    code = ("import json; from adsx_jobs import config; c = config.load(); "
            "print(json.dumps({'kafka': c['kafka']['bootstrap_servers'], "
            "'lake': c['lake']['dir'], 'models': c['models']['dir']}))")  # fmt: skip
    r = subprocess.run([str(VENV_BIN / "python"), "-c", code], env=env, capture_output=True,
                       text=True, timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["kafka"] == "kafka:9092"
    assert got["lake"] == f"{image_layout}{IMAGE_ROOT}/var/lake"
    assert got["models"] == f"{image_layout}{IMAGE_ROOT}/var/models"


def test_compose_prometheus_config_and_rules_pass_promtool(tmp_path: Path):
    cfg = yaml.safe_load((SOURCE_DIR / "deploy" / "compose" / "prometheus.yml").read_text())
    cfg["rule_files"] = [str(SOURCE_DIR / "deploy" / "prometheus" / "rules" / "*.rules.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True,
                       text=True, timeout=60, check=False)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout and "rules found" in r.stdout, r.stdout
    targets = {t for job in cfg["scrape_configs"] for sc in job.get("static_configs", [])
               for t in sc["targets"]}  # fmt: skip
    assert {"stream:9464", "serve:9464", "lag:9464"} <= targets


def dockerfile_run(name: str, marker: str) -> str:
    """The RUN line of stage `name` that contains `marker`."""
    return next(ln for ln in stage(name).splitlines() if ln.startswith("RUN") and marker in ln)


def test_build_stage_installs_the_toolchain_and_library_sections_of_the_one_list():
    run = dockerfile_run("build", "apt-packages.txt")
    select = re.search(r"(sed -n '[^']+' )/tmp/apt-packages.txt( \| sed '[^']+')", run)
    assert select, run
    cmd = f"{select.group(1)}{SOURCE_DIR}/deploy/apt-packages.txt{select.group(2)}"
    packages = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                              check=True).stdout.split()  # fmt: skip
    assert {"cmake", "ninja-build", "librdkafka-dev", "libhiredis-dev", "libxgboost-dev"} <= set(
        packages
    )
    assert not {"redis-server", "postgresql-15", "chromium"} & set(packages)  # no services
    known = subprocess.run(["apt-cache", "show", *packages], capture_output=True, text=True,
                           check=False)  # fmt: skip
    assert known.returncode == 0, known.stderr


def test_runtime_packages_cover_every_library_adsx_loads():
    run = dockerfile_run("build", "runtime-packages.txt")
    pipeline = run.removeprefix("RUN ").split(" > ")[0].replace("/out/bin/adsx", ADSX_BIN)
    packages = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True,
                              text=True, check=True).stdout.split()  # fmt: skip
    assert "librdkafka1" in packages and "libhiredis0.14" in packages, packages
    assert not [p for p in packages if p.endswith("-dev")], packages  # no headers at run time
    # Every library ldd resolves is a file of one of these packages.
    libs = re.findall(r"=> (/\S+)", subprocess.run(["ldd", ADSX_BIN], capture_output=True,
                                                   text=True, check=True).stdout)  # fmt: skip
    files: set[str] = set()
    for p in packages:
        files |= set(subprocess.run(["dpkg", "-L", p], capture_output=True, text=True,
                                    check=True).stdout.split())  # fmt: skip
    missing = [lib for lib in libs if os.path.realpath(lib) not in files and lib not in files]
    assert not missing, missing


def test_the_commands_compose_runs_exist_with_their_flags():
    services = compose_config()["services"]
    init = services["init"]["entrypoint"][-1]  # "adsx stack up && adsx db migrate"
    commands = [c.split()[1:] for c in init.split(" && ")]
    commands += [services[name]["command"] for name in ("serve", "stream", "generate")]
    for args in commands:
        words = [a for a in args if not a.startswith("-") and not a.isdigit()]
        r = run_adsx(*words, "--help")
        assert r.returncode == 0, (args, r.stderr)
        for flag in (a for a in args if a.startswith("-")):
            assert flag in r.stdout, (args, flag)
    # The jobs service's documented use (docs/docker.md): a module and its flags.
    r = subprocess.run([str(VENV_BIN / "python"), "-m", "adsx_jobs.lake", "--help"],
                       capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert r.returncode == 0 and "--available-now" in r.stdout, r.stderr
