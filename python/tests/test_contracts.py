"""Proves that the Python jobs read the shared contracts (schemas/online_store.json) as the C++
side does: the consent purposes give the byte and mask of the TCF core that the C++ decoder's
bit rule reads, and the smoothed CTR is the prior's formula."""

from adsx_jobs import contracts


def test_personalisation_mask_is_the_purposes_bits():
    # Purposes 1, 3 and 4 at bits 152, 154 and 155 of the core: byte 19, 0b1011_0000.
    assert contracts.online_store()["consent"]["personalisation_purposes"] == [1, 3, 4]
    assert contracts.personalisation_mask() == (19, 0xB0)


def test_prior_and_tile_widths():
    prior, weight = contracts.ctr_prior()
    assert (3 + prior * weight) / (100 + weight) == (3 + 3.0) / 300
    assert contracts.tile_width_ms("minute") == 60_000
    assert contracts.tile_width_ms("hour") == 3_600_000


def test_key_names_are_the_stream_engines():
    keys = contracts.online_store()["keys"]
    assert (keys["user"], keys["ad"], keys["campaign"]) == ("u:", "a:", "c:")
