"""The online store's Redis as the jobs reach it ([redis] host, port and mode, as `adsx`): one
server, or Redis Cluster through its seed, where every key lives under its shard's hash tag
(contracts.stored_key, as redis/keys.h's in_shard).

  r = store.client(cfg)
  pipes = store.Pipelines(r)
  pipes.for_key(store.name(cfg, "a:42")).hset(...)   # on the server that holds the key
  pipes.execute()                                     # every server's, replies not in order
"""

from __future__ import annotations

import redis

from adsx_jobs import contracts


def cluster(cfg) -> bool:
    return cfg["redis"]["mode"] == "cluster"


def client(cfg):
    """A client of the configured Redis: redis.Redis, or redis.cluster.RedisCluster."""
    if cluster(cfg):
        from redis.cluster import RedisCluster

        return RedisCluster(host=cfg["redis"]["host"], port=cfg["redis"]["port"])
    return redis.Redis(host=cfg["redis"]["host"], port=cfg["redis"]["port"])


def name(cfg, key: str) -> str:
    """The name an entity key (u:…, a:…, c:…) is stored under."""
    return contracts.stored_key(key, cluster(cfg))


def servers(r) -> list[redis.Redis]:
    """A client of every server holding keys (the one server, or each master)."""
    if hasattr(r, "get_primaries"):
        return [redis.Redis(host=n.host, port=n.port) for n in r.get_primaries()]
    return [r]


class Pipelines:
    """Non-transactional pipelines, one per server, each command on the server holding its key
    (Redis Cluster's own pipelines refuse scripts, which these run as on one server)."""

    def __init__(self, r):
        self._r = r
        self._pipes: dict[str, redis.client.Pipeline] = {}

    def for_key(self, key: str) -> redis.client.Pipeline:
        if not hasattr(self._r, "get_node_from_key"):
            node, conn = "", self._r
        else:
            n = self._r.get_node_from_key(key)
            node, conn = n.name, n.redis_connection
        if node not in self._pipes:
            self._pipes[node] = conn.pipeline(transaction=False)
        return self._pipes[node]

    def execute(self) -> list:
        return [reply for p in self._pipes.values() for reply in p.execute()]
