"""Labelled mixtures (`classes=K`, `fsrgan sample --classes K`) and domain
pairs (`domains=2`, `--domains 2`) from Python: the command line's arrays and
files, bit for bit, read back with their labels and truths."""

import json

import numpy as np
import pytest

import fsrgan
from conftest import assert_bits_equal, read_safetensors


def test_sample_with_classes_returns_the_clis_arrays_and_labels(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "tiny", "--n", 700, "--seed", 4, "--classes", 3, "--hidden", "--out", d)
    data = fsrgan.sample("tiny", n=700, seed=4, hidden=True, classes=3)
    files = np.load(d / "samples.npz")
    assert list(data) == list(files.keys()) == ["x1", "x2", "s1", "s2", "z", "y"]
    for name in files.keys():
        assert_bits_equal(data[name], files[name], name)
    y = data["y"]
    assert y.dtype == np.int64 and y.shape == (700,) and set(np.unique(y)) == {0, 1, 2}
    assert len(data.classes) == 3 and data.domain_b is None
    assert data.params.to_dict().keys() == data.classes[0].to_dict().keys()
    # The class truths are those in params.safetensors under class{k}.
    stored, _ = read_safetensors(d / "params.safetensors")
    for k, truth in enumerate(data.classes):
        for name, a in truth.items():
            assert_bits_equal(a.astype(np.float32), stored[f"class{k}.{name}"], f"class{k}.{name}")
    # Shards give the same labels.
    part = fsrgan.sample("tiny", n=700, seed=4, classes=3, shard=(1, 3))
    assert_bits_equal(part["y"], y[part.start : part.end], "y of shard 1/3")


def test_sample_with_domains_returns_the_clis_arrays(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "tiny", "--n", 400, "--seed", 6, "--domains", 2, "--out", d)
    data = fsrgan.sample("tiny", n=400, seed=6, domains=2)
    files = np.load(d / "samples.npz")
    assert list(data) == list(files.keys()) == ["x1", "x2", "x1_b", "x2_b"]
    for name in files.keys():
        assert_bits_equal(data[name], files[name], name)
    # Domain A is the ordinary sample; B paints the same codes with its own dictionary.
    plain = fsrgan.sample("tiny", n=400, seed=6, hidden=True)
    assert_bits_equal(data["x2"], plain["x2"], "x2")
    out_b = data.domain_b["level2.out"]  # (m, c, q, q)
    s2 = plain["s2"].astype(np.float64)  # (N, m, n, n)
    q = out_b.shape[-1]
    n = s2.shape[2]
    x = np.zeros((400, out_b.shape[1], n * q, n * q))
    for py in range(n):
        for px in range(n):
            x[:, :, py * q : (py + 1) * q, px * q : (px + 1) * q] = np.einsum("bi,icyx->bcyx", s2[:, :, py, px], out_b)
    assert np.max(np.abs(x - data["x2_b"])) < 1e-5
    assert np.max(np.abs(x - data["x2"])) > 0.1


def test_write_dataset_with_classes_and_domains_writes_the_clis_bytes(cli, tmp_path):
    for kwargs, flags in [({"classes": 3}, ["--classes", 3]), ({"domains": 2, "hidden": True}, ["--domains", 2, "--hidden"])]:
        mine, theirs = tmp_path / f"py{len(flags)}", tmp_path / f"cli{len(flags)}"
        manifest = fsrgan.write_dataset(mine, "tiny", n=500, seed=9, **kwargs)
        cli("sample", "--preset", "tiny", "--n", 500, "--seed", 9, *flags, "--out", theirs)
        for name in ["params.safetensors", "samples.npz", "manifest.json"]:
            assert (mine / name).read_bytes() == (theirs / name).read_bytes(), name
        on_disk = json.loads((theirs / "manifest.json").read_text())
        assert manifest == on_disk
        back = fsrgan.read_dataset(mine)
        assert back.manifest == on_disk
        files = np.load(theirs / "samples.npz")
        assert list(back) == list(files.keys())
        for name in files.keys():
            assert_bits_equal(back[name], files[name], name)
    assert on_disk["domains"] == 2 and "classes" not in on_disk
    assert back.domain_b is not None and back.classes == []
    labelled = fsrgan.read_dataset(tmp_path / "py2")
    assert labelled.manifest["classes"] == 3 and len(labelled.classes) == 3
    assert labelled["y"].dtype == np.int64


def test_bad_classes_and_domains_are_refused():
    with pytest.raises(fsrgan.FsrganError, match="classes.*domains"):
        fsrgan.sample("tiny", n=10, classes=2, domains=2)
    with pytest.raises(fsrgan.FsrganError, match="domains"):
        fsrgan.sample("tiny", n=10, domains=3)
    with pytest.raises(fsrgan.FsrganError, match="config, not a Params"):
        fsrgan.sample(fsrgan.Params("tiny", 1), n=10, classes=2)
    with pytest.raises(fsrgan.FsrganError, match="out="):
        fsrgan.sample("tiny", n=10, classes=2, out=fsrgan.sample("tiny", n=10))


def test_read_dataset_rejects_a_damaged_label_file(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "tiny", "--n", 100, "--seed", 1, "--classes", 2, "--out", d)
    raw = bytearray((d / "samples.npz").read_bytes())
    raw[-150] ^= 0x01
    (d / "samples.npz").write_bytes(bytes(raw))
    with pytest.raises(fsrgan.DatasetError, match="samples.npz"):
        fsrgan.read_dataset(d)


def test_score_of_a_labelled_dataset_is_the_clis(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "tiny", "--n", 600, "--seed", 3, "--classes", 2, "--out", d)
    fake = fsrgan.sample("tiny", n=200, seed=77, classes=2)
    np.savez(tmp_path / "fake.npz", x1=fake["x1"], x2=fake["x2"], y=fake["y"])
    theirs = json.loads(cli("score", d, tmp_path / "fake.npz", "--json", "--patch-dirs", 32).stdout)
    mine = fsrgan.score(d, {"x1": fake["x1"], "x2": fake["x2"]}, patch_dirs=32)
    assert mine["floor_seed"] == theirs["floor_seed"]
    assert mine["levels"] == theirs["score"]["levels"]
    # The same through a Samples of the dataset.
    again = fsrgan.score(fsrgan.read_dataset(d), {"x1": fake["x1"], "x2": fake["x2"]}, patch_dirs=32)
    assert again["levels"] == mine["levels"]
    assert [c["class"] for c in theirs["per_class"]] == [0, 1]
