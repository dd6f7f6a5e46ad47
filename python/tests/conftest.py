"""Shared fixtures of the pytest suite of the `fsrgan` Python package.

The command-line binary the tests compare against is `$FSRGAN_BIN` (set by
`tests/python.rs` under `cargo test`) or `target/release/fsrgan`; tests that
need it are skipped, with the reason, when neither exists.
"""

import json
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _bin():
    env = os.environ.get("FSRGAN_BIN")
    if env:
        return pathlib.Path(env)
    return ROOT / "target" / "release" / "fsrgan"


@pytest.fixture(scope="session")
def fsrgan_bin():
    path = _bin()
    if not path.exists():
        pytest.skip(f"no fsrgan binary at {path} (cargo build --release, or run under cargo test)")
    return path


@pytest.fixture(scope="session")
def cli(fsrgan_bin):
    """cli(*args, ok=True) -> CompletedProcess: runs the fsrgan binary (2 threads at most)."""

    def run(*args, ok=True):
        p = subprocess.run(
            [str(fsrgan_bin), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        if ok and p.returncode != 0:
            raise AssertionError(f"fsrgan {' '.join(map(str, args))} failed:\n{p.stderr}")
        return p

    return run


def bits(a):
    """The array's bit patterns (equality of these is bit-for-bit equality, NaN included)."""
    a = np.ascontiguousarray(a)
    return a.view({4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_bits_equal(a, b, what=""):
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    diff = np.count_nonzero(bits(a) != bits(b))
    assert diff == 0, f"{what}: {diff} of {a.size} elements differ"


def read_safetensors(path):
    """An independent reader of .safetensors (header JSON + little-endian data):
    {name: array}, metadata."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + b : base + e], dtype=dtypes[info["dtype"]]).reshape(
            info["shape"]
        )
    return out, meta
