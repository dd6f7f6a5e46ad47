"""`fsrgan.Config`: the presets of model.md section 5 and every way to give a config."""

import numpy as np
import pytest

import fsrgan

PRESETS = {
    # name: (levels, channels, patch, m, k, d0, kernel), model.md section 5.
    "tiny": (2, 1, 2, 4, 0.5, 16, 2),
    "small": (3, 3, 2, 12, 1.0, 48, 4),
    "paper": (4, 3, 4, 32, 2.0, 128, 4),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets(name):
    levels, c, q, m, k, d0, kernel = PRESETS[name]
    cfg = fsrgan.Config(name)
    assert cfg == fsrgan.Config.preset(name)
    assert (cfg.name, cfg.levels, cfg.channels, cfg.patch, cfg.d0, cfg.kernel) == (name, levels, c, q, d0, kernel)
    assert cfg.m == [m] * levels and cfg.k == [k] * levels
    assert cfg.patches == [2 * 2**l for l in range(levels)]
    assert cfg.resolutions == [q * 2 * 2**l for l in range(levels)]
    assert cfg.patch_dim == c * q * q
    assert fsrgan.PRESETS == ["tiny", "small", "paper"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_round_trips(name, tmp_path):
    cfg = fsrgan.Config(name)
    assert fsrgan.Config.from_toml(cfg.to_toml()) == cfg
    assert fsrgan.Config(cfg.to_dict()) == cfg
    assert fsrgan.Config(cfg) == cfg
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml())
    assert fsrgan.Config(path) == cfg


def test_a_params_gives_its_config():
    assert fsrgan.Config(fsrgan.Params("tiny", 1)) == fsrgan.Config("tiny")


def test_overrides():
    cfg = fsrgan.Config({"preset": "small", "k": 0.5, "m": [8, 10, 12], "dictionary": "unit", "sigma": np.float64(0.0)})
    assert cfg.k == [0.5] * 3 and cfg.m == [8, 10, 12] and cfg.dictionary == "unit"
    assert cfg == fsrgan.Config('preset = "small"\nk = 0.5\nm = [8, 10, 12]\ndictionary = "unit"\n')
    assert cfg != fsrgan.Config("small")
    assert "Config(name=" in repr(cfg)
    assert fsrgan.Config({"preset": "tiny", "m": np.int64(3)}).m == [3, 3]
    assert fsrgan.Config({"preset": "tiny", "k": np.array([0.5, 0.25])}).k == [0.5, 0.25]
