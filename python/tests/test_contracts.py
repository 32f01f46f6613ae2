"""Proves that the Python jobs read the shared contracts (schemas/online_store.json,
schemas/model_row.json) as the C++ side does: the consent purposes give the byte and mask of the
TCF core that the C++ decoder's bit rule reads, the smoothed CTR is the prior's formula, and every
feature the trainer uses is one serving can build."""

from adsx_jobs import contracts


def test_personalisation_mask_is_the_purposes_bits():
    # Purposes 1, 3 and 4 at bits 152, 154 and 155 of the core: byte 19, 0b1011_0000.
    assert contracts.online_store()["consent"]["personalisation_purposes"] == [1, 3, 4]
    assert contracts.personalisation_mask() == (19, 0xB0)


def test_personalised_reads_the_three_purposes_of_the_core():
    import base64

    def tcf(byte19: int, extra: str = "") -> str:
        core = bytes(19) + bytes([byte19]) + bytes(9)
        return base64.urlsafe_b64encode(core).decode().rstrip("=") + extra

    assert contracts.personalised(tcf(0xB0))
    assert contracts.personalised(tcf(0xFF, ".segment"))  # only the core counts
    assert not contracts.personalised(tcf(0xA0))  # purpose 4 withheld
    assert not contracts.personalised(tcf(0x30))  # purpose 1 withheld
    assert not contracts.personalised(base64.urlsafe_b64encode(bytes(19)).decode())  # too short


def test_prior_and_tile_widths():
    prior, weight = contracts.ctr_prior()
    assert (3 + prior * weight) / (100 + weight) == (3 + 3.0) / 300
    assert contracts.tile_width_ms("minute") == 60_000
    assert contracts.tile_width_ms("hour") == 3_600_000


def test_key_names_are_the_stream_engines():
    keys = contracts.online_store()["keys"]
    assert (keys["user"], keys["ad"], keys["campaign"]) == ("u:", "a:", "c:")


def test_every_feature_the_trainer_uses_is_defined_for_serving():
    """A model may only name features schemas/model_row.json defines: serving's row builder
    builds those and refuses a model that names anything else."""
    from adsx_ml.data import TRAINING_SET_CATEGORICAL, TRAINING_SET_NUMERIC

    names = [n.name for n in TRAINING_SET_NUMERIC] + list(TRAINING_SET_CATEGORICAL)
    assert [n for n in names if not contracts.row_feature_defined(n)] == []
    assert not contracts.row_feature_defined("stream_ad_5m_conversions")
    assert not contracts.row_feature_defined("batch_nowhere_ctr_7d")


def test_windows_are_grouped_by_entity_with_one_tile_width():
    assert contracts.entity_windows("ad") == (
        ["ad_id"],
        60_000,
        {"stream_ad_5m": 5, "stream_ad_1h": 60},
    )
    keys, width, spans = contracts.entity_windows("user")
    assert (keys, width, spans["stream_user_24h"]) == (["user_id"], 3_600_000, 24)


def test_cluster_names_are_the_cpp_stores():
    # The values src/adsx/redis/tests/cluster_test.cc and redis/keys.h state for C++.
    tags = contracts.shard_tags()
    assert len(tags) == contracts.online_store()["cluster"]["shards"] == 16
    assert tags[0] == "{10}"
    assert contracts.stored_key("a:42", cluster=True) == "{13}a:42"
    assert contracts.stored_key("a:42", cluster=False) == "a:42"
    assert contracts.logical_key("{13}a:42") == "a:42" == contracts.logical_key("a:42")
    from redis.crc import key_slot

    # Every tag lies in its own sixteenth of the slots, and no smaller number does.
    for shard, tag in enumerate(tags):
        number = int(tag[1:-1])
        assert key_slot(tag.encode()) * 16 // 16384 == shard
        assert all(key_slot(str(n).encode()) * 16 // 16384 != shard for n in range(number))
