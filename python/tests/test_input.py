"""Issue 34 from Python: no argument crashes the interpreter, hangs it, or is
silently ignored. Each bad value raises with a message naming the argument
(or field, file, array) and the rule; the good value beside it still works."""

import json
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fsrgan


def run_fresh(code, timeout=120):
    """Runs `code` in a fresh interpreter; returns (returncode, stdout, stderr)."""
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_calibration_samples_are_bounded_at_validation():
    for make in (fsrgan.Config, fsrgan.Params):
        with pytest.raises(fsrgan.ConfigError, match=r"field `calibration_samples`: must be in 256..=1048576"):
            make({"preset": "tiny", "calibration_samples": 10**12})
    # The limit itself validates (tiny: about 2 GB of calibration).
    assert fsrgan.Config({"preset": "tiny", "calibration_samples": 2**20}).calibration_samples == 2**20
    # paper at 2^20 would hold ~157 GB at once: refused by its byte bound.
    with pytest.raises(fsrgan.ConfigError, match="16 GiB"):
        fsrgan.Config({"preset": "paper", "calibration_samples": 2**20})


def test_the_issues_sizes_never_kill_the_interpreter():
    code = """
        import fsrgan
        for call in (
            lambda: fsrgan.sample({"preset": "tiny", "calibration_samples": 10**12}, n=5),
            lambda: fsrgan.Params({"preset": "tiny", "calibration_samples": 10**12}),
        ):
            try:
                call()
            except fsrgan.ConfigError as e:
                print("ConfigError", e)
    """
    rc, out, err = run_fresh(code)
    assert rc == 0, err
    assert out.count("ConfigError invalid config: field `calibration_samples`") == 2, out


def test_memory_that_cannot_be_had_is_a_memory_error():
    """Under a 3 GB address-space limit, paper's calibration at 30 000 samples
    (about 4.5 GB, within the documented 16 GiB) cannot be had: MemoryError,
    not an abort; the default 8192 samples (1.2 GB) still calibrate."""
    code = """
        import resource
        import fsrgan
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        try:
            fsrgan.Params({"preset": "paper", "calibration_samples": 30000})
        except MemoryError as e:
            print("MemoryError", e)
        p = fsrgan.Params("paper", 1)
        print("ok", len(p))
    """
    rc, out, err = run_fresh(code, timeout=300)
    assert rc == 0, err
    assert "MemoryError cannot allocate" in out and "calibration_samples" in out, out
    assert "ok 13" in out, out


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"classes": True}, "`classes` must be an integer >= 1, got True"),
        ({"domains": True}, "`domains` must be an integer in 1..=2, got True"),
        ({"classes": -2}, "`classes` must be an integer >= 1, got -2"),
        ({"n": -1}, "`n` must be an integer >= 1, got -1"),
        ({"n": True}, "`n` must be an integer >= 1, got True"),
        ({"seed": -1}, "`seed` must be an integer >= 0, got -1"),
        ({"seed": 2**64}, "`seed` must be an integer >= 0, got 18446744073709551616"),
        ({"threads": -1}, "`threads` must be an integer >= 0, got -1"),
        ({"shard": (0, 10**6)}, "--shard 0/1000000 of --n 5 holds no sample"),
    ],
)
def test_sample_arguments_are_checked_with_their_names(kwargs, needle):
    args = {"n": 5} | kwargs
    with pytest.raises(ValueError) as e:
        fsrgan.sample("tiny", **args)
    assert isinstance(e.value, fsrgan.FsrganError)
    assert needle in str(e.value), str(e.value)


def test_good_integer_arguments_still_work():
    a = fsrgan.sample("tiny", n=np.int64(6), seed=np.uint64(2), classes=2, threads=1)
    assert a["y"].shape == (6,) and len(a.classes) == 2
    b = fsrgan.sample("tiny", n=5, domains=2, shard=(1, 5))
    assert (b.start, b.end) == (1, 2) and "x1_b" in b
    with pytest.raises(TypeError, match="`n` must be an integer >= 1, got '5' of type str"):
        fsrgan.sample("tiny", n="5")


@pytest.mark.parametrize(
    "call,needle",
    [
        (lambda d: fsrgan.write_dataset(d, "tiny", n=5, chunk=-1), "`chunk` must be an integer >= 1, got -1"),
        (lambda d: fsrgan.write_dataset(d, "tiny", n=5, chunk=0), "`chunk` must be an integer >= 1, got 0"),
        (lambda d: fsrgan.write_dataset(d, "tiny", n=10**11, chunk=10**11), "--chunk 100000000000"),
        (lambda d: fsrgan.write_dataset(d, "tiny", n=5, classes=True), "`classes` must be an integer >= 1, got True"),
        (lambda d: fsrgan.write_dataset(d, "tiny", n=1, shard=(0, 2)), "holds no sample"),
        (lambda d: fsrgan.write_dataset(d, fsrgan.Params("tiny", 3), n=5, seed=4), "drawn with seed 3, but seed=4"),
        (lambda d: fsrgan.Params("tiny", seed=-3), "`seed` must be an integer >= 0, got -3"),
        (lambda d: fsrgan.verify("T1", samples=-1), "`samples` must be an integer in 1..=1000000000, got -1"),
        (lambda d: fsrgan.verify("T1", samples=10**12), "`samples` must be an integer in 1..=1000000000, got 1000000000000"),
        (lambda d: fsrgan.verify("T1", samples=10, seed=True), "`seed` must be an integer >= 0, got True"),
    ],
)
def test_other_arguments_are_checked_with_their_names(tmp_path, call, needle):
    with pytest.raises(fsrgan.FsrganError) as e:
        call(tmp_path / "d")
    assert needle in str(e.value), str(e.value)
    assert not (tmp_path / "d").exists()


def test_config_refuses_none_and_booleans_and_names_a_missing_file():
    with pytest.raises(fsrgan.ConfigError, match="config field `k`: None is not a value"):
        fsrgan.Config({"preset": "tiny", "k": None})
    with pytest.raises(fsrgan.ConfigError, match="config field `k`: None"):
        fsrgan.Config({"preset": "tiny", "k": [0.5, None]})
    with pytest.raises(fsrgan.ConfigError, match="config field `levels`: True is a bool"):
        fsrgan.Config({"preset": "tiny", "levels": True})
    # The good neighbour: leaving the key out keeps the preset's value.
    assert fsrgan.Config({"preset": "tiny"}).k == [0.5, 0.5]
    assert fsrgan.Config({"preset": "tiny", "k": 0.25}).k == [0.25, 0.25]
    with pytest.raises(FileNotFoundError) as e:
        fsrgan.Config(pathlib.Path("/nonexistent/fsrgan.toml"))
    assert e.value.filename == "/nonexistent/fsrgan.toml"
    assert "/nonexistent/fsrgan.toml" in str(e.value) and "No such file" in str(e.value)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    d = tmp_path_factory.mktemp("input") / "real"
    fsrgan.write_dataset(d, "tiny", n=60, seed=3)
    return d


def test_fake_values_and_score_sizes_are_checked(real):
    code = f"""
        import numpy as np, fsrgan
        try:
            fsrgan.score({str(real)!r}, {{"x1": np.zeros((2, 1, 4, 4)), "x2": np.full((2, 1, 8, 8), 1e300)}})
        except fsrgan.FsrganError as e:
            print("FsrganError", e)
    """
    rc, out, err = run_fresh(code)
    assert rc == 0, err
    assert "FsrganError generated set: level 2, sample 0 holds the value 1e300" in out, out
    x = fsrgan.sample(fsrgan.read_dataset(real).params, n=20, seed=9)
    for bad, needle in [
        ({"x1": x["x1"], "x2": np.full_like(x["x2"], np.inf)}, "NaN or infinity"),
        ({"x1": x["x1"].astype(np.int64), "x2": x["x2"]}, "float32 or float64"),
    ]:
        with pytest.raises(fsrgan.FsrganError, match=needle):
            fsrgan.score(real, bad)
    for kw in ("patch_dirs", "max_rows", "max_gram_rows", "max_pairs"):
        with pytest.raises(fsrgan.FsrganError, match=f"`{kw}` must be an integer >= 1, got 0"):
            fsrgan.score(real, x, **{kw: 0})
    with pytest.raises(fsrgan.FsrganError, match="patch_dirs\\) = 5000: must be at most 4096"):
        fsrgan.score(real, x, patch_dirs=5000)
    good = fsrgan.score(real, x, patch_dirs=1)
    assert all(np.isfinite(lv["patch_swd"]["value"]) and lv["patch_swd"]["value"] > 0 for lv in good["levels"])


def test_score_refuses_a_real_dir_whose_truth_is_another_seeds(real, tmp_path):
    other = tmp_path / "other"
    fsrgan.write_dataset(other, "tiny", n=10, seed=4)
    swapped = tmp_path / "swapped"
    shutil.copytree(real, swapped)
    shutil.copy(other / "params.safetensors", swapped / "params.safetensors")
    # Re-record the copied file so that only the truth check can see it.
    import json
    import zlib

    m = json.loads((swapped / "manifest.json").read_text())
    b = (swapped / "params.safetensors").read_bytes()
    m["files"]["params.safetensors"] = {"bytes": len(b), "crc32": zlib.crc32(b)}
    (swapped / "manifest.json").write_text(json.dumps(m))
    fsrgan.read_dataset(swapped)  # every file is what the manifest records
    x = fsrgan.sample(fsrgan.Params("tiny", 3), n=10, seed=9)
    with pytest.raises(fsrgan.DatasetError, match="not what the manifest's config `tiny` and seed 3 generate"):
        fsrgan.score(swapped, x)
    assert fsrgan.score(real, x)["n_fake"] == 10


def test_a_real_set_without_a_truth_is_scored_with_a_split_floor(cli, tmp_path):
    truth = fsrgan.Params("tiny", 1)
    real = dict(fsrgan.sample(truth, n=1200, seed=11))
    good = dict(fsrgan.sample(truth, n=400, seed=12))
    bad = {k: 3 * v for k, v in good.items()}
    s = fsrgan.score(real, good, config="tiny", seed=5)
    assert (s["n_real"], s["n_fake"]) == (800, 400)
    rows = s.pop("floor_rows")
    assert len(rows) == 400 and rows == sorted(set(rows)) and rows[-1] < 1200
    assert s.pop("floor_seed") == 5
    b = fsrgan.score(real, bad, config=fsrgan.Config("tiny"), seed=5)
    for lg, lb in zip(s["levels"], b["levels"]):
        assert "no truth" in lg["coverage"]["not_computable"]
        g, w = lg["patch_swd"], lb["patch_swd"]
        assert g["value"] < 2 * g["floor"] and w["value"] > 4 * w["floor"], (g, w)
    # The command line on the same arrays gives the same numbers.
    np.savez(tmp_path / "real.npz", **real)
    np.savez(tmp_path / "good.npz", **good)
    theirs = json.loads(cli("score", tmp_path / "real.npz", tmp_path / "good.npz", "--preset", "tiny", "--seed", 5, "--json").stdout)
    assert theirs["score"] == s
    # Refused: a mapping without config=, config= beside a dataset, too small a real set.
    with pytest.raises(fsrgan.FsrganError, match="give its model with config="):
        fsrgan.score(real, good)
    d = tmp_path / "d"
    fsrgan.write_dataset(d, truth, n=50, seed=1)
    with pytest.raises(fsrgan.FsrganError, match="carries its own"):
        fsrgan.score(d, good, config="tiny")
    small = {k: v[:401] for k, v in real.items()}
    with pytest.raises(fsrgan.FsrganError, match="401 samples; the metrics need at least 402"):
        fsrgan.score(small, good, config="tiny")


@pytest.mark.parametrize(
    "call,needle",
    [
        (lambda d: fsrgan.write_dataset(d, "tiny", 64, force="yes"), "argument `force`"),
        (lambda d: fsrgan.sample("tiny", 64, hidden=None), "argument `hidden`"),
        (lambda d: fsrgan.read_dataset(None), "argument `path`"),
        (lambda d: fsrgan.Config.from_toml(None), "`text` must be a str"),
        (lambda d: fsrgan.Config.preset(None), "`name` must be a str"),
        (lambda d: fsrgan.Params.load(None), "`path` must be a path"),
        (lambda d: fsrgan.Params("tiny").save(None), "`path` must be a path"),
        (lambda d: fsrgan.Params("tiny").save(d, dtype=16), "`dtype` must be a str"),
        (lambda d: fsrgan.theory.Phi2(None, 0.0, 0.5), "argument `a`"),
        (lambda d: fsrgan.verify(5), "`claims` must be None, a claim id"),
    ],
)
def test_wrong_types_name_the_argument(tmp_path, call, needle):
    with pytest.raises(TypeError) as e:
        call(tmp_path / "d")
    assert needle in str(e.value), str(e.value)


def test_other_hostile_values_are_refused_with_their_names(tmp_path):
    with pytest.raises(fsrgan.FsrganError, match=r"shard must be \(i, n\).*got \(True, 2\)"):
        fsrgan.sample("tiny", 64, shard=(True, 2))
    assert fsrgan.sample("tiny", 64, shard=(1, 2)).start == 32
    with pytest.raises(fsrgan.ConfigError, match="config field `d0`: 18446744073709551616 does not fit"):
        fsrgan.Config({"preset": "tiny", "d0": 2**64})
    with pytest.raises(fsrgan.DatasetError, match="--chunk 100000000000: at most 16777216"):
        fsrgan.write_dataset(tmp_path / "w", "tiny", 64, chunk=10**11)
    assert fsrgan.write_dataset(tmp_path / "w", "tiny", 64, chunk=2**24)["end"] == 64
    code = """
        import numpy as np, fsrgan
        real = fsrgan.sample("tiny", 64)
        h = np.broadcast_to(np.float32(0), (10**9, 1, 4, 4))
        H = np.broadcast_to(np.float32(0), (10**9, 1, 8, 8))
        try:
            fsrgan.score(real, {"x1": h, "x2": H})
        except MemoryError as e:
            print("MemoryError", e)
    """
    rc, out, err = run_fresh(code)
    assert rc == 0, err
    assert "MemoryError fake: `x1` of shape [1000000000, 1, 4, 4]" in out, out


def test_params_load_checks_the_values_it_cannot_checksum(real, tmp_path):
    # A dataset's truth carries no checksum: it is regenerated from the
    # config and seed it records, so a flipped bit is caught.
    good = fsrgan.Params.load(real / "params.safetensors")
    assert good.config == fsrgan.Config("tiny")
    b = bytearray((real / "params.safetensors").read_bytes())
    b[len(b) - 9] ^= 0x10
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(b))
    with pytest.raises(fsrgan.DatasetError, match="not what its recorded config `tiny` and seed 3 generate"):
        fsrgan.Params.load(bad)
    # A saved Params carries its own checksum, whatever its seed.
    fsrgan.Params("tiny", 5).save(tmp_path / "p5.safetensors")
    assert len(fsrgan.Params.load(tmp_path / "p5.safetensors")) == 7
