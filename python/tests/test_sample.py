"""`fsrgan.sample` against the files of `fsrgan sample`, bit for bit; shards,
threads, the arrays' ownership (no copy) and the GIL."""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fsrgan
from conftest import assert_bits_equal, read_safetensors

# Sizes: several chunks of the CLI (1024 samples) and several blocks of the
# Python sampler, plus a ragged tail, in well under a second each.
CASES = [("tiny", 2500, 7), ("small", 1100, 3)]


@pytest.fixture(scope="module")
def cli_datasets(cli, tmp_path_factory):
    """{preset: directory} of `fsrgan sample --hidden` datasets."""
    out = {}
    for preset, n, seed in CASES:
        d = tmp_path_factory.mktemp(f"cli-{preset}")
        cli("sample", "--preset", preset, "--n", n, "--seed", seed, "--hidden", "--out", d, "--force")
        out[preset] = d
    return out


@pytest.mark.parametrize("preset,n,seed", CASES)
def test_sample_equals_cli_files_bit_for_bit(cli_datasets, preset, n, seed):
    files = np.load(cli_datasets[preset] / "samples.npz")
    data = fsrgan.sample(preset, n=n, seed=seed, hidden=True)
    assert list(data.keys()) == list(files.keys())  # x1..xL, s1..sL, z in the files' order
    for name in files.keys():
        assert_bits_equal(data[name], files[name], f"{preset} {name}")
    # A wrong seed fails the same comparison: the check has power.
    other = fsrgan.sample(preset, n=n, seed=seed + 1)
    assert not np.array_equal(other["x1"], files["x1"])


@pytest.mark.parametrize("preset,n,seed", CASES)
@pytest.mark.parametrize("count", [2, 3, 7])
def test_shards_concatenate_to_the_cli_file(cli_datasets, preset, n, seed, count):
    files = np.load(cli_datasets[preset] / "samples.npz")
    parts = [fsrgan.sample(preset, n=n, seed=seed, hidden=True, shard=(i, count)) for i in range(count)]
    for i, p in enumerate(parts):
        assert (p.start, p.end) == (i * n // count, (i + 1) * n // count)
        assert p.shard == (i, count)
    for name in files.keys():
        joined = np.concatenate([p[name] for p in parts])
        assert_bits_equal(joined, files[name], f"{preset} {name} in {count} shards")


def test_cli_shard_file_equals_python_shard(cli, tmp_path):
    d = tmp_path / "shard"
    cli("sample", "--preset", "small", "--n", 1000, "--seed", 5, "--shard", "2/3", "--out", d)
    files = np.load(d / "samples.npz")
    for shard in [(2, 3), "2/3"]:
        data = fsrgan.sample("small", n=1000, seed=5, shard=shard)
        assert (data.start, data.end, data.n) == (666, 1000, 1000)
        for name in files.keys():
            assert_bits_equal(data[name], files[name], f"shard {shard!r} {name}")


def test_an_empty_shard_is_refused_as_n_0_is():
    # Shard 0 of 3 of one sample holds samples 0..0: no dataset, as --n 0.
    with pytest.raises(fsrgan.FsrganError, match="holds no sample") as e:
        fsrgan.sample("tiny", n=1, shard=(0, 3), hidden=True)
    assert "at most 1" in str(e.value)
    # Shard 2 of 3 holds sample 0.
    data = fsrgan.sample("tiny", n=1, shard=(2, 3), hidden=True)
    assert (data.start, data.end) == (0, 1)
    assert data["z"].shape == (1, 16)


def test_threads_do_not_change_the_samples():
    p = fsrgan.Params("small", 2)
    one = fsrgan.sample(p, n=700, seed=2, hidden=True, threads=1)
    two = fsrgan.sample(p, n=700, seed=2, hidden=True, threads=2)
    default = fsrgan.sample(p, n=700, seed=2, hidden=True)
    for name in one:
        assert_bits_equal(one[name], two[name], name)
        assert_bits_equal(one[name], default[name], name)


def test_config_forms_give_the_cli_samples(cli, tmp_path):
    """A dict, TOML text, a path and a Config give the samples of `--config FILE`."""
    toml = 'preset = "tiny"\nk = 1.0\nm = 3\n'
    path = tmp_path / "c.toml"
    path.write_text(toml)
    cli("sample", "--config", path, "--n", 300, "--seed", 4, "--out", tmp_path / "d")
    files = np.load(tmp_path / "d" / "samples.npz")
    for spec in [{"preset": "tiny", "k": 1.0, "m": 3}, toml, path, fsrgan.Config(toml)]:
        data = fsrgan.sample(spec, n=300, seed=4)
        assert data.config.m == [3, 3]
        for name in files.keys():
            assert_bits_equal(data[name], files[name], f"{type(spec).__name__} {name}")


def test_samples_carry_their_ground_truth(cli_datasets):
    preset, n, seed = CASES[1]
    data = fsrgan.sample(preset, n=10, seed=seed)
    assert isinstance(data, dict) and isinstance(data, fsrgan.Samples)
    assert isinstance(data.params, fsrgan.Params)
    assert data.params.seed == seed and data.seed == seed and data.hidden is False
    assert data.config == fsrgan.Config(preset) and data.manifest is None
    assert (data.start, data.end, data.n, data.shard) == (0, 10, 10, None)
    assert list(data) == ["x1", "x2", "x3"]
    c = data.config
    for lv, r in enumerate(c.resolutions, start=1):
        assert data[f"x{lv}"].shape == (10, c.channels, r, r)
    # The ground truth equals the CLI's params.safetensors rounded to float32.
    stored, meta = read_safetensors(cli_datasets[preset] / "params.safetensors")
    assert meta["seed"] == str(seed)
    assert list(stored) == sorted(data.params.keys())
    for name, a in data.params.items():
        assert a.dtype == np.float64 and not a.flags.writeable
        assert_bits_equal(a.astype(np.float32), stored[name], name)


def test_arrays_own_rust_memory_without_a_copy():
    data = fsrgan.sample("tiny", n=100, seed=1, hidden=True)
    for name, a in data.items():
        # NumPy did not allocate (owndata False); the buffer belongs to the
        # capsule that holds the Rust Vec and frees it with the array.
        assert not a.flags.owndata, name
        assert type(a.base).__name__ == "PySliceContainer", name
        assert a.flags.c_contiguous and a.flags.writeable and a.dtype == np.float32
    # Writing through the array is safe and visible (it is the buffer itself).
    x = data["x1"]
    x[0, 0, 0, 0] = 42.0
    assert data["x1"][0, 0, 0, 0] == 42.0


NO_COPY_SCRIPT = textwrap.dedent(
    """
    import json, fsrgan

    def status(key):  # KiB, from the kernel's accounting of this process
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])

    p = fsrgan.Params("tiny", 1)
    fsrgan.sample(p, n=1000, seed=1)            # warm up: thread pool, code pages
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                            # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS")
    data = fsrgan.sample(p, n=10**6, seed=1)
    peak = status("VmHWM")
    print(json.dumps({"before_kib": before, "peak_kib": peak,
                      "nbytes": sum(a.nbytes for a in data.values()),
                      "bases": sorted({type(a.base).__name__ for a in data.values()})}))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux /proc")
def test_a_million_tiny_samples_are_not_copied():
    """Peak memory of a 10^6-sample `tiny` call, in a fresh process.

    Method: reset the kernel's peak-RSS counter (`/proc/self/clear_refs`,
    value 5) just before the call, read `VmRSS` then, and `VmHWM` (the peak
    resident set since the reset) after it. (`getrusage`'s `ru_maxrss` is
    not used: Linux carries it over from the parent across fork and exec, so
    in a child of the large pytest process it starts at the parent's size.)

    The arrays hold `nbytes` = 320 MB. Sampling writes them once, in place, so
    the peak grows by about `nbytes` (plus a cache-sized float64 block per
    thread). A copy into NumPy-owned memory would need both buffers alive at
    once, `2 nbytes`. The bound `1.5 nbytes` separates the two with a margin
    of 160 MB either way; the lower bound `0.9 nbytes` checks that the
    measurement sees the arrays at all.
    """
    out = subprocess.run([sys.executable, "-c", NO_COPY_SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    grown = (r["peak_kib"] - r["before_kib"]) * 1024
    assert r["nbytes"] == 10**6 * (16 + 64) * 4
    assert r["bases"] == ["PySliceContainer"]
    assert 0.9 * r["nbytes"] <= grown <= 1.5 * r["nbytes"], r


def test_the_gil_is_released_while_sampling():
    """Another Python thread runs during the Rust call: the main thread records
    timestamps while a worker thread samples; with the GIL held for the call,
    none could fall strictly inside the call's middle 80%."""
    p = fsrgan.Params("small", 1)
    span = {}

    def work():
        span["t0"] = time.perf_counter()
        fsrgan.sample(p, n=60_000, seed=1, hidden=True)
        span["t1"] = time.perf_counter()

    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
        time.sleep(0.0005)
    t.join()
    t0, t1 = span["t0"], span["t1"]
    lo, hi = t0 + 0.1 * (t1 - t0), t1 - 0.1 * (t1 - t0)
    inside = sum(lo < s < hi for s in stamps)
    assert t1 - t0 > 0.02, "the call is too short to tell"
    assert inside >= 5, f"{inside} main-thread steps during a {t1 - t0:.3f} s call"


def test_env_does_not_load_libtorch():
    code = "import sys, fsrgan; fsrgan.sample('tiny', n=5, seed=1); print(sorted(m for m in sys.modules if 'torch' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    maps = subprocess.run(
        [sys.executable, "-c", "import fsrgan; print(open('/proc/self/maps').read())"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if maps.returncode == 0 and os.path.exists("/proc/self/maps"):
        assert "libtorch" not in maps.stdout


def test_out_fills_preallocated_arrays_with_the_fresh_samples():
    """`out=` fills the caller's arrays in place, bit for bit the arrays of a
    fresh call (which equal `fsrgan sample`'s files, tested above), shard
    included, and returns the same array objects."""
    p = fsrgan.Params("small", 2)
    fresh = fsrgan.sample(p, n=700, seed=2, hidden=True, shard=(1, 3))
    out = {k: np.full_like(v, np.nan) for k, v in fresh.items()}
    got = fsrgan.sample(p, n=700, seed=2, hidden=True, shard=(1, 3), out=out)
    for k in fresh:
        assert got[k] is out[k]
        assert_bits_equal(got[k], fresh[k])
    # Reused: a second call overwrites every element.
    again = fsrgan.sample(p, n=700, seed=2, hidden=True, shard=(1, 3), out=got)
    for k in fresh:
        assert_bits_equal(again[k], fresh[k])


def test_out_rejects_arrays_it_cannot_fill():
    p = fsrgan.Params("tiny", 1)
    good = fsrgan.sample(p, n=10, seed=1)
    cases = {
        "has no array `x2`": {"x1": good["x1"]},
        "float32": {"x1": good["x1"].astype(np.float64), "x2": good["x2"]},
        "shape": {"x1": good["x1"][:5], "x2": good["x2"]},
        "C-contiguous": {"x1": good["x1"], "x2": good["x2"][:, :, ::-1, :]},
    }
    ro = good["x2"].copy()
    ro.flags.writeable = False
    cases["not writeable"] = {"x1": good["x1"].copy(), "x2": ro}
    for want, out in cases.items():
        with pytest.raises(fsrgan.FsrganError) as e:
            fsrgan.sample(p, n=10, seed=1, out=out)
        assert want in str(e.value), (want, str(e.value))
