"""Kafka's part of an erasure (issue #23) on the real broker: records cannot be edited in place, so
an erasure records the end offset of every raw topic's partitions once nothing more of the user is
written (its horizon), and `adsx privacy verify` proves the topics clear once retention has moved
every partition's oldest offset past it. Topics of the test's own, kept an hour while the user is
erased (verify names each topic still holding records from before the erasure and says by when
they go: exit 3), then given a retention of a second, as the hour passing would (the stack's
broker checks retention every 10 s): verify reports every topic clear; kcat (not our client)
finds none of the user's records left; with the lake's part done too, exit 0."""

import os
import subprocess
import time
import uuid

from conftest import BOOTSTRAP, consume, delete_topic, kafka_tool, psql, run_adsx, run_job


def create_topic(name: str) -> None:
    kafka_tool("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", BOOTSTRAP, "--create",
               "--topic", name, "--partitions", "2", "--config", "retention.ms=3600000",
               "--config", "segment.ms=1000")  # fmt: skip


def expire_soon(name: str) -> None:
    """The topic's retention down to a second: what an hour passing does to the test's records."""
    kafka_tool("kafka.admin.ConfigCommand", "--bootstrap-server", BOOTSTRAP, "--alter",
               "--entity-type", "topics", "--entity-name", name,
               "--add-config", "retention.ms=1000")  # fmt: skip


def produce(topic: str, key: str, values: list[str]) -> None:
    subprocess.run(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-k", key],
                   input="\n".join(values) + "\n", text=True, check=True, timeout=60)  # fmt: skip


def test_verify_proves_kafka_clear_once_retention_removed_the_users_records(tmp_path):
    suffix = uuid.uuid4().hex[:8]
    keys = ("EVENTS_TOPIC", "SERVES_TOPIC", "DLQ_TOPIC", "PRIVACY_TOPIC")
    topics = {k: f"it.privkafka.{suffix}.{k.split('_')[0].lower()}" for k in keys}
    user = f"k1:{uuid.uuid4().hex}"
    env = dict(os.environ, **{f"ADSX_KAFKA__{k}": t for k, t in topics.items()})
    try:
        for t in topics.values():
            create_topic(t)
        produce(
            topics["EVENTS_TOPIC"], user, [f'{{"user_id": "{user}", "n": {i}}}' for i in range(5)]
        )
        produce(topics["SERVES_TOPIC"], user, [f'{{"user_id": "{user}"}}'])

        e = run_adsx("privacy", "erase", "--user", user, env=env, timeout=120)
        assert e.returncode == 0, e.stdout + e.stderr
        v = run_adsx("privacy", "verify", "--user", user, env=env)
        assert v.returncode == 3, v.stdout + v.stderr
        for t in (topics["EVENTS_TOPIC"], topics["SERVES_TOPIC"]):
            assert f"kafka     {t}: 1 partition(s) still hold records from before the erasure, gone by" in v.stdout, v.stdout  # fmt: skip
        # Topics that never held the user are clear at once.
        assert f"kafka     {topics['DLQ_TOPIC']}: clear" in v.stdout, v.stdout

        for t in topics.values():
            expire_soon(t)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            v = run_adsx("privacy", "verify", "--user", user, env=env)
            if all(f"kafka     {t}: clear" in v.stdout for t in topics.values()):
                break
            time.sleep(3)
        else:
            raise AssertionError(f"retention did not clear the topics in 120 s:\n{v.stdout}")
        assert v.returncode == 3 and "lake      not rewritten yet" in v.stdout, v.stdout
        assert consume(topics["EVENTS_TOPIC"]) == [] and consume(topics["SERVES_TOPIC"]) == []

        run_job(env, "adsx_jobs.lake_erase", "--lake", str(tmp_path), "--user", user)
        v = run_adsx("privacy", "verify", "--user", user, env=env)
        assert v.returncode == 0, v.stdout + v.stderr
        assert "lake      rewritten and scanned clean" in v.stdout, v.stdout
    finally:
        for t in topics.values():
            delete_topic(t)
        psql(f"DELETE FROM privacy_suppressed WHERE user_id = '{user}'")
        psql(f"DELETE FROM privacy_requests WHERE user_id = '{user}'")
