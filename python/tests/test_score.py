"""`fsrgan.score` against `fsrgan score --json` (the same function, so the same
numbers), a perfect generator against a broken one, and its errors."""

import json

import numpy as np
import pytest

import fsrgan


@pytest.fixture(scope="module")
def real_and_fake(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("score")
    real = d / "real"
    cli("sample", "--preset", "tiny", "--n", 2000, "--seed", 3, "--out", real)
    # A perfect generator: fresh samples of the same truth (other streams).
    fresh = fsrgan.sample(fsrgan.read_dataset(real).params, n=500, seed=11)
    fake = d / "fake.npz"
    np.savez(fake, x1=fresh["x1"], x2=fresh["x2"])
    return real, fake


def test_score_equals_the_command_line(cli, real_and_fake):
    real, fake = real_and_fake
    theirs = json.loads(cli("score", real, fake, "--json", "--seed", 4).stdout)
    mine = fsrgan.score(real, np.load(fake), seed=4)
    assert mine.pop("floor_seed") == theirs["floor_seed"]
    assert mine == theirs["score"]
    # The real side as a Samples (read_dataset) gives the same numbers as the path.
    again = fsrgan.score(fsrgan.read_dataset(real), dict(np.load(fake)), seed=4)
    again.pop("floor_seed")
    assert again == mine


def test_a_perfect_generator_sits_at_its_floor_and_a_broken_one_does_not(real_and_fake):
    real, fake = real_and_fake
    good = fsrgan.score(real, np.load(fake))
    f = np.load(fake)
    bad = fsrgan.score(real, {"x1": 1.5 * f["x1"], "x2": 1.5 * f["x2"]})
    for lg, lb in zip(good["levels"], bad["levels"]):
        g, b = lg["patch_swd"], lb["patch_swd"]
        # The perfect set is itself a real set of the floor's size: its SWD
        # is the floor's up to sampling noise (a factor 2 is about 10 of
        # its standard errors at N = 500); scaling every image by 1.5 moves
        # every projection's quantiles by half their size.
        assert g["value"] < 2 * g["floor"], lg
        assert b["value"] > 5 * b["floor"], lb


def test_score_errors_are_exceptions_with_the_librarys_message(real_and_fake):
    real, fake = real_and_fake
    f = dict(np.load(fake))
    with pytest.raises(fsrgan.FsrganError, match="no array `x2`"):
        fsrgan.score(real, {"x1": f["x1"]})
    with pytest.raises(fsrgan.FsrganError, match="float32 or float64"):
        fsrgan.score(real, {"x1": f["x1"].astype(np.int32), "x2": f["x2"]})
    with pytest.raises(fsrgan.FsrganError, match="float32 or float64"):
        fsrgan.score(real, {"x1": f["x1"][0], "x2": f["x2"]})
    bad = f["x1"].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(fsrgan.FsrganError, match="level 1, sample 0 holds NaN or infinity"):
        fsrgan.score(real, {"x1": bad, "x2": f["x2"]})
    with pytest.raises(fsrgan.FsrganError, match="real must be a dataset directory"):
        fsrgan.score(3, f)
    with pytest.raises(fsrgan.DatasetError):
        fsrgan.score(real / "missing", f)


def test_score_rejects_levels_the_real_data_do_not_have_as_the_cli_does(cli, real_and_fake, tmp_path):
    """One rule for both: an array `x3` beside a 2-level dataset is an error
    naming the array and the real levels (it used to be ignored here and
    rejected by `fsrgan score`)."""
    real, fake = real_and_fake
    f = dict(np.load(fake))
    f["x3"] = f["x2"]
    with pytest.raises(fsrgan.FsrganError, match=r"array `x3`: the real data have 2 levels"):
        fsrgan.score(real, f)
    extra = tmp_path / "extra.npz"
    np.savez(extra, **f)
    out = cli("score", real, extra, ok=False)
    assert out.returncode != 0 and "array `x3`: the real data have 2 levels" in out.stderr
