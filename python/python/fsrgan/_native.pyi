"""Type stubs of the extension module ``fsrgan._native`` (re-exported by ``fsrgan``)."""

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Literal, Union

import numpy as np
import numpy.typing as npt

from . import theory as theory

__version__: Final[str]
PRESETS: Final[list[str]]

class FsrganError(ValueError):
    """Base class of every fsrgan error; the message is the Rust library's, word for word."""

class ConfigError(FsrganError):
    """An invalid config (the message names the field and the rule) or an unknown preset."""

class DatasetError(FsrganError):
    """A dataset or parameter file that cannot be read or written."""

class TheoryError(FsrganError):
    """A theory function's input is outside its domain."""

ConfigValue = Union[int, float, str, bool, Sequence[Union[int, float]], None]
ConfigSpec = Union[str, Mapping[str, ConfigValue], "os.PathLike[str]", "Config", "Params"]
"""A preset name, TOML text (has an ``=``), a dict of TOML fields, a TOML file path, a Config, or a Params."""

Shard = Union[tuple[int, int], str, None]
"""``(i, count)`` or ``"i/count"``: samples ``floor(i n / count) .. floor((i + 1) n / count)``."""

class Config:
    """A validated configuration of the FSR model (model.md); ``Config(spec)``."""

    def __init__(self, spec: ConfigSpec) -> None: ...
    @staticmethod
    def preset(name: str) -> Config: ...
    @staticmethod
    def from_toml(text: str) -> Config: ...
    def to_toml(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...
    @property
    def name(self) -> str: ...
    @property
    def levels(self) -> int: ...
    @property
    def channels(self) -> int: ...
    @property
    def patch(self) -> int: ...
    @property
    def n1(self) -> int: ...
    @property
    def d0(self) -> int: ...
    @property
    def m(self) -> list[int]: ...
    @property
    def k(self) -> list[float]: ...
    @property
    def sigma(self) -> list[float]: ...
    @property
    def kernel(self) -> int: ...
    @property
    def alpha_min(self) -> float: ...
    @property
    def alpha_max(self) -> float: ...
    @property
    def dictionary(self) -> Literal["orthonormal", "unit"]: ...
    @property
    def output(self) -> Literal["patch", "overlap"]: ...
    @property
    def decode_tau(self) -> float: ...
    @property
    def calibration_samples(self) -> int: ...
    @property
    def resolutions(self) -> list[int]:
        """``r_l = q n_1 2^(l-1)`` per level."""
    @property
    def patches(self) -> list[int]:
        """``n_l = n_1 2^(l-1)`` per level."""
    @property
    def patch_dim(self) -> int:
        """``D = c q^2``."""
    def __eq__(self, other: object) -> bool: ...

class Params(Mapping[str, npt.NDArray[np.float64]]):
    """The ground truth of one ``(config, seed)``: read-only float64 arrays under the
    interchange names (``level1.w``, ``level1.alpha``, ``level1.beta``,
    ``level{l}.weight``, ``level{l}.bias``, ``level{l}.out``)."""

    def __init__(self, config: ConfigSpec, seed: int = 0) -> None: ...
    @staticmethod
    def load(path: Union[str, "os.PathLike[str]"]) -> Params: ...
    def save(self, path: Union[str, "os.PathLike[str]"], dtype: Literal["f32", "f64", "float32", "float64"] = "f32") -> None: ...
    @property
    def config(self) -> Config: ...
    @property
    def seed(self) -> int | None: ...
    def keys(self) -> list[str]: ...  # type: ignore[override]
    def values(self) -> list[npt.NDArray[np.float64]]: ...  # type: ignore[override]
    def items(self) -> list[tuple[str, npt.NDArray[np.float64]]]: ...  # type: ignore[override]
    def to_dict(self) -> dict[str, npt.NDArray[np.float64]]: ...
    def __getitem__(self, name: str) -> npt.NDArray[np.float64]: ...
    def __contains__(self, name: object) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...

class Samples(dict[str, npt.NDArray[Any]]):
    """``{name: array}`` (``x1..xL``; domain pair ``x1_b..xL_b``; with hidden codes
    ``s1..sL``, ``z``: float32; labelled ``y``: int64) plus provenance."""

    @property
    def params(self) -> Params: ...
    @property
    def config(self) -> Config: ...
    @property
    def seed(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def shard(self) -> tuple[int, int] | None: ...
    @property
    def hidden(self) -> bool: ...
    @property
    def manifest(self) -> dict[str, Any] | None: ...
    @property
    def classes(self) -> list[Params]: ...
    @property
    def domain_b(self) -> Params | None: ...

def sample(
    config: ConfigSpec,
    n: int,
    seed: int = 0,
    hidden: bool = False,
    shard: Shard = None,
    threads: int | None = None,
    out: Mapping[str, npt.NDArray[np.float32]] | None = None,
    classes: int = 1,
    domains: int = 1,
) -> Samples:
    """Samples of the FSR model, bit-identical to ``fsrgan sample`` files (float32, no copy)."""

def read_dataset(path: Union[str, "os.PathLike[str]"]) -> Samples:
    """Opens and validates a dataset directory (sizes, CRC-32s, shapes)."""

def write_dataset(
    path: Union[str, "os.PathLike[str]"],
    config: ConfigSpec,
    n: int,
    seed: int = 0,
    *,
    hidden: bool = False,
    shard: Shard = None,
    format: Literal["npz", "safetensors"] = "npz",
    params_dtype: Literal["f32", "f64", "float32", "float64"] = "f32",
    force: bool = False,
    chunk: int = 1024,
    threads: int | None = None,
    classes: int = 1,
    domains: int = 1,
) -> dict[str, Any]:
    """Writes the dataset directory ``fsrgan sample --out PATH`` writes; returns the manifest."""

def verify(
    claims: str | Sequence[str] | None = None,
    samples: int = 1_000_000,
    seed: int = 1,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """The table of ``fsrgan verify`` (claims T1-T8) as records."""

def score(
    real: Union[str, "os.PathLike[str]", Samples, Mapping[str, npt.NDArray[Any]]],
    fake: Mapping[str, npt.NDArray[Any]],
    *,
    seed: int = 0,
    patch_dirs: int = 128,
    max_rows: int = 65536,
    max_gram_rows: int = 4096,
    max_pairs: int = 1024,
    threads: int | None = None,
    config: Any = None,
) -> dict[str, Any]:
    """Any generated set (``fake["x1"]..fake["xL"]``, (N, c, r_l, r_l)) against a
    real dataset: per level patch SWD, Laplacian-pyramid SWD, MS-SSIM, moment
    gaps c = 1..4 and atom coverage, each beside its floor (N fresh samples of
    the truth); the numbers of ``fsrgan score --json``, plus ``floor_seed``.
    A ``real`` mapping of arrays without a truth needs ``config=`` (its
    model): the floor is then N samples split from ``real`` (``floor_rows``)
    and the atom coverage is reported as not computable."""
