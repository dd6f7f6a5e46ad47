"""fsrgan: the forward super-resolution (FSR) model's sampler and ground truth,
and the GAN theory's checks, from fsrgan's Rust core (PyO3 + NumPy).

    import fsrgan
    data = fsrgan.sample("small", n=100_000, seed=1, hidden=True)  # data["x1"], ...; data.params
    fsrgan.verify("T6", samples=10**6)                              # the table of `fsrgan verify`
    fsrgan.theory.Phi2(0.3, -0.2, 0.5)                              # bivariate normal cdf
    report = fsrgan.score("data/small", np.load("fake.npz"))       # any generator vs the truth

Exposed: ``Config`` (presets, TOML, dicts; the library's validation),
``Params`` (ground truth as NumPy arrays under the interchange names of
model.md section 6), ``sample`` (float32 arrays bit-identical to ``fsrgan
sample`` files, no copy, GIL released), ``read_dataset`` / ``write_dataset``,
``verify``, ``score`` (any generated set's metrics against the truth, with
their floors; the numbers of ``fsrgan score``), the submodule ``theory`` and the exceptions ``FsrganError``
(a ``ValueError``), ``ConfigError``, ``DatasetError``, ``TheoryError``.
The package is built without libtorch: importing it never loads torch.
"""

from . import _native
from ._argnames import named as _named
from ._native import (
    PRESETS,
    Config,
    ConfigError,
    DatasetError,
    FsrganError,
    Params,
    Samples,
    TheoryError,
    __version__,
)

read_dataset = _named(_native.read_dataset)
sample = _named(_native.sample)
score = _named(_native.score)
verify = _named(_native.verify)
write_dataset = _named(_native.write_dataset)

from . import theory  # noqa: E402

__all__ = [
    "PRESETS",
    "Config",
    "ConfigError",
    "DatasetError",
    "FsrganError",
    "Params",
    "Samples",
    "TheoryError",
    "__version__",
    "read_dataset",
    "sample",
    "score",
    "theory",
    "verify",
    "write_dataset",
]
