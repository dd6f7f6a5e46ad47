"""`read_dataset` / `write_dataset` / `Params.save|load` against the files of
the command line (byte for byte) and an independent reader."""

import json

import numpy as np
import pytest

import fsrgan
from conftest import assert_bits_equal, read_safetensors


@pytest.mark.parametrize(
    "kwargs,flags",
    [
        ({}, []),
        ({"hidden": True, "format": "safetensors", "params_dtype": "f64"}, ["--hidden", "--format", "safetensors", "--params-dtype", "f64"]),
        ({"shard": (1, 3), "chunk": 100}, ["--shard", "1/3", "--chunk", "100"]),
    ],
)
def test_write_dataset_writes_the_clis_bytes(cli, tmp_path, kwargs, flags):
    mine, theirs = tmp_path / "py", tmp_path / "cli"
    manifest = fsrgan.write_dataset(mine, "tiny", n=1500, seed=9, **kwargs)
    cli("sample", "--preset", "tiny", "--n", 1500, "--seed", 9, *flags, "--out", theirs)
    names = sorted(p.name for p in theirs.iterdir())
    assert sorted(p.name for p in mine.iterdir()) == names
    for name in names:
        assert (mine / name).read_bytes() == (theirs / name).read_bytes(), name
    assert manifest == json.loads((theirs / "manifest.json").read_text())


def test_read_dataset_returns_the_stored_arrays_without_a_copy(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "small", "--n", 300, "--seed", 2, "--hidden", "--out", d)
    data = fsrgan.read_dataset(d)
    files = np.load(d / "samples.npz")
    assert list(data) == list(files.keys())
    for name in files.keys():
        assert_bits_equal(data[name], files[name], name)
        assert type(data[name].base).__name__ == "PySliceContainer" and not data[name].flags.owndata
    assert data.manifest == json.loads((d / "manifest.json").read_text())
    assert (data.seed, data.n, data.start, data.end, data.hidden, data.shard) == (2, 300, 0, 300, True, None)
    stored, _ = read_safetensors(d / "params.safetensors")
    for name, a in data.params.items():
        assert_bits_equal(a, stored[name].astype(np.float64), name)  # float32 values, exactly
    # ... and they are the truth rounded to float32.
    truth = fsrgan.Params("small", 2)
    for name, a in truth.items():
        assert_bits_equal(a.astype(np.float32), stored[name], name)


def test_read_dataset_of_a_shard(tmp_path):
    fsrgan.write_dataset(tmp_path / "s", "tiny", n=100, seed=1, shard="1/4")
    data = fsrgan.read_dataset(tmp_path / "s")
    assert (data.start, data.end, data.n, data.shard) == (25, 50, 100, (1, 4))
    assert_bits_equal(data["x2"], fsrgan.sample("tiny", n=100, seed=1, shard=(1, 4))["x2"], "x2")


def test_params_save_load_roundtrip(tmp_path):
    p = fsrgan.Params("small", 5)
    p.save(tmp_path / "p64.safetensors", dtype="f64")
    p.save(tmp_path / "p32.safetensors")
    q = fsrgan.Params.load(tmp_path / "p64.safetensors")
    assert q.config == p.config and q.seed is None
    for name in p:
        assert_bits_equal(q[name], p[name], name)  # float64: exact
    stored, meta = read_safetensors(tmp_path / "p32.safetensors")
    assert meta["format"] == "fsrgan-params" and meta["seed"] == "5"
    for name in p:
        assert_bits_equal(stored[name], p[name].astype(np.float32), name)


def test_params_mapping():
    p = fsrgan.Params("tiny", 3)
    c = p.config
    assert p.keys() == ["level1.w", "level1.alpha", "level1.beta", "level1.out", "level2.weight", "level2.bias", "level2.out"]
    assert len(p) == 7 and list(p) == p.keys() and "level2.bias" in p and "nope" not in p
    assert p["level1.w"].shape == (c.m[0], c.n1, c.n1, c.d0)
    assert p["level2.weight"].shape == (c.m[0], c.m[1], c.kernel, c.kernel)
    assert p["level2.out"].shape == (c.m[1], c.channels, c.patch, c.patch)
    # The level-1 rows w[j, p] are unit vectors (model.md section 4).
    assert np.allclose(np.linalg.norm(p["level1.w"], axis=-1), 1.0, atol=1e-14)
    with pytest.raises(ValueError):
        p["level1.w"][0, 0, 0, 0] = 1.0  # read-only ground truth
    assert set(p.to_dict()) == set(p.keys())
