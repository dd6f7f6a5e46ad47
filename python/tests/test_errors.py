"""Errors are Python exceptions carrying the Rust library's message: the same
text the command line prints for the same mistake. Bad arguments raise; they
never crash the interpreter."""

import subprocess
import sys

import numpy as np
import pytest

import fsrgan


def cli_error(cli, *args):
    p = cli(*args, ok=False)
    assert p.returncode != 0, f"fsrgan {args} succeeded"
    return p.stderr


def test_hierarchy():
    assert issubclass(fsrgan.FsrganError, ValueError)
    for e in (fsrgan.ConfigError, fsrgan.DatasetError, fsrgan.TheoryError):
        assert issubclass(e, fsrgan.FsrganError)
        assert e.__module__ == "fsrgan"


def test_unknown_preset_message_is_the_clis(cli, tmp_path):
    with pytest.raises(fsrgan.ConfigError) as e:
        fsrgan.sample("huge", n=10)
    assert str(e.value) == "unknown preset `huge` (known presets: tiny, small, paper)"
    assert str(e.value) in cli_error(cli, "sample", "--preset", "huge", "--out", tmp_path)


@pytest.mark.parametrize(
    "toml,as_dict,field",
    [
        ('preset = "tiny"\nk = -1.0\n', {"preset": "tiny", "k": -1.0}, "k"),
        ('preset = "tiny"\nlevels = 0\n', {"preset": "tiny", "levels": 0}, "levels"),
        ('preset = "small"\nkernel = 3\n', {"preset": "small", "kernel": 3}, "kernel"),
        ('preset = "tiny"\nm = [4, 4, 4]\n', {"preset": "tiny", "m": np.array([4, 4, 4])}, "m"),
    ],
)
def test_invalid_config_message_is_the_clis(cli, tmp_path, toml, as_dict, field):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    stderr = cli_error(cli, "sample", "--config", path, "--out", tmp_path / "d")
    for spec in (toml, path):
        with pytest.raises(fsrgan.ConfigError) as e:
            fsrgan.Config(spec)
        msg = str(e.value)
        assert msg.startswith(f"invalid config: field `{field}`: "), msg
        assert msg in stderr
    # The same config as a dict raises the same message.
    with pytest.raises(fsrgan.ConfigError) as e:
        fsrgan.sample(as_dict, n=5)
    assert str(e.value) == msg


def test_unknown_field_and_bad_toml(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('preset = "tiny"\nwidth = 3\n')
    stderr = cli_error(cli, "sample", "--config", path, "--out", tmp_path / "d")
    with pytest.raises(fsrgan.ConfigError) as e:
        fsrgan.Config({"preset": "tiny", "width": 3})
    assert "unknown field `width`" in str(e.value)
    assert str(e.value).splitlines()[0] in stderr
    with pytest.raises(fsrgan.ConfigError, match="config is not valid TOML"):
        fsrgan.Config("levels = = 2")


@pytest.mark.parametrize("shard", [(3, 3), (0, 0), (-1, 2), "1/x", "2"])
def test_bad_shard_message_is_the_clis(cli, tmp_path, shard):
    text = shard if isinstance(shard, str) else f"{shard[0]}/{shard[1]}"
    stderr = cli_error(cli, "sample", "--preset", "tiny", "--n", 10, f"--shard={text}", "--out", tmp_path)
    with pytest.raises(fsrgan.FsrganError) as e:
        fsrgan.sample("tiny", n=10, shard=shard)
    assert str(e.value) == f"--shard must be i/n with 0 <= i < n, got `{text}`"
    assert str(e.value) in stderr


def test_zero_samples_message_is_the_clis(cli, tmp_path):
    stderr = cli_error(cli, "sample", "--preset", "tiny", "--n", 0, "--out", tmp_path)
    with pytest.raises(fsrgan.FsrganError) as e:
        fsrgan.sample("tiny", n=0)
    assert str(e.value) == "--n must be at least 1"
    assert str(e.value) in stderr


def test_verify_errors_are_the_clis(cli):
    with pytest.raises(fsrgan.FsrganError) as e:
        fsrgan.verify("T99", samples=10)
    assert str(e.value) == "unknown claim `T99`; valid claims: T1, T2, T3, T4, T5, T6, T7, T8"
    assert str(e.value) in cli_error(cli, "verify", "--claim", "T99")
    with pytest.raises(fsrgan.FsrganError) as e:
        fsrgan.verify("T1", samples=0)
    assert str(e.value) in cli_error(cli, "verify", "--claim", "T1", "--samples", 0)


def test_corrupted_dataset_message_is_the_clis(cli, tmp_path):
    d = tmp_path / "d"
    cli("sample", "--preset", "tiny", "--n", 50, "--seed", 1, "--out", d)
    f = d / "samples.npz"
    f.write_bytes(f.read_bytes()[:-100])  # truncate
    with pytest.raises(fsrgan.DatasetError) as e:
        fsrgan.read_dataset(d)
    assert "samples.npz: expected" in str(e.value) and "truncated or corrupted" in str(e.value)
    assert str(e.value) in cli_error(cli, "inspect", d)
    with pytest.raises(fsrgan.DatasetError) as e:
        fsrgan.read_dataset(tmp_path / "missing")
    assert str(e.value) in cli_error(cli, "inspect", tmp_path / "missing")


def test_existing_dataset_is_not_overwritten(cli, tmp_path):
    d = tmp_path / "d"
    fsrgan.write_dataset(d, "tiny", n=20, seed=1)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    with pytest.raises(fsrgan.DatasetError) as e:
        fsrgan.write_dataset(d, "tiny", n=30, seed=2)
    assert str(e.value) == f"{d} already holds a dataset; pass --force to overwrite it"
    assert str(e.value) in cli_error(cli, "sample", "--preset", "tiny", "--n", 30, "--out", d)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_theory_errors_carry_the_rust_message():
    with pytest.raises(fsrgan.TheoryError) as e:
        fsrgan.theory.alpha_beta_from_moments(-1.0, 1.0)
    assert str(e.value) == "moments not attainable: need E[y] > 0 and E[y^2] > 0, got -1, 1"
    with pytest.raises(fsrgan.TheoryError) as e:
        fsrgan.theory.kl([0.5, 0.4], [0.5, 0.5])
    assert str(e.value) == "not probability vectors: p sums to 0.9"
    with pytest.raises(fsrgan.TheoryError, match="^not probability vectors: lengths 2 and 3$"):
        fsrgan.theory.tv([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(fsrgan.TheoryError, match="^moments not attainable: E\\[y_i y_j\\]"):
        fsrgan.theory.rho_from_cross_moment(100.0, (1.0, 0.5), (1.0, 0.5))


@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: fsrgan.sample(123, n=5), TypeError),
        (lambda: fsrgan.sample("tiny", n=-1), fsrgan.FsrganError),
        (lambda: fsrgan.sample("tiny", n=5, shard=(1, 2, 3)), fsrgan.FsrganError),
        (lambda: fsrgan.sample("tiny", n=5, shard=[0.5, 1]), fsrgan.FsrganError),
        (lambda: fsrgan.sample("tiny", n=5, threads=10**6), fsrgan.FsrganError),
        (lambda: fsrgan.sample("tiny", n=5, threads=-1), fsrgan.FsrganError),
        (lambda: fsrgan.Config({"preset": "tiny", "k": object()}), TypeError),
        (lambda: fsrgan.Config({"preset": "tiny", "k": "x"}), fsrgan.ConfigError),
        (lambda: fsrgan.Params("tiny")["level9.out"], KeyError),
        (lambda: fsrgan.write_dataset("/tmp/x", "tiny", n=5, format="zip"), fsrgan.FsrganError),
        (lambda: fsrgan.theory.relu_moments(0.5, 10**9), fsrgan.TheoryError),
        (lambda: fsrgan.theory.relu_moment(-1.0, 0.0, 2), fsrgan.TheoryError),
        (lambda: fsrgan.theory.kl_gaussian(0.0, 0.0, 0.0, 1.0), fsrgan.TheoryError),
        (lambda: fsrgan.theory.cross_moment(0.0, 0.0, 2.0), fsrgan.TheoryError),
        (lambda: fsrgan.theory.estimate_rho([1.0, 2.0], [1.0]), fsrgan.TheoryError),
        (lambda: fsrgan.theory.kl(np.zeros((2, 2)), [0.5, 0.5]), TypeError),
        (lambda: fsrgan.verify(["T1", 3], samples=10), TypeError),
    ],
)
def test_bad_arguments_raise(call, exc):
    with pytest.raises(exc):
        call()


def test_a_huge_request_raises_memory_error_in_a_fresh_process():
    """10^15 `tiny` samples (320 PB) cannot be allocated: MemoryError, not an abort."""
    code = (
        "import fsrgan\n"
        "try:\n"
        "    fsrgan.sample(fsrgan.Params('tiny', 1), n=10**15, seed=1)\n"
        "except MemoryError as e:\n"
        "    print('MemoryError', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("MemoryError cannot allocate"), out.stdout
