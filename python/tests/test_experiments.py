"""Assignment in Python equals the C++ one: the same fixed vectors as
src/adsx/experiments/tests/assignment_test.cc, and the same cut of a layer into holdout and arms."""

from adsx_jobs.experiments import bucket, choose, place


def test_fixed_vectors_are_the_contract():
    assert bucket("s1", "ranking", "K1:00ff") == 6932
    assert bucket("", "", "") == 5340
    user = "K1:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert bucket("exp-42", "layer0", user) == 4847
    assert bucket("salt", "l", "u") == 6655


def test_arms_split_by_weight_inside_the_range_after_the_holdout():
    split = dict(weights=[1, 3], first=1000, count=2000, holdout=200)
    assert choose(999, **split) is None and choose(3000, **split) is None
    assert choose(1000, **split) is None and choose(1199, **split) is None
    assert choose(1200, **split) == 0 and choose(1649, **split) == 0
    assert choose(1650, **split) == 1 and choose(2999, **split) == 1
    arms = [choose(b, **split) for b in range(10_000)]
    assert arms.count(0) == 450 and arms.count(1) == 1350


def test_place_uses_the_layer_bucket_for_the_range_and_the_salted_one_for_the_arm():
    for user in ("K1:00ff", "K1:0100", "K1:0101", "K1:0102"):
        layer_bucket, arm_bucket = bucket("", "models", user), bucket("salt", "models", user)
        got = place(user, "models", "salt", [1, 3], first=0, count=5000, holdout=1000)
        if layer_bucket >= 5000 or arm_bucket < 1000:
            assert got is None
        else:
            assert got == (0 if arm_bucket < 3250 else 1)
