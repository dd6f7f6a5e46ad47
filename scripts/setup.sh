#!/usr/bin/env bash
# Installs what fsrgan needs and is missing; fast (a few seconds) when all is there.
#   - Debian packages: libopenblas-dev (LAPACK for ndarray-linalg), pkg-config,
#     fontconfig/freetype headers (plot labels);
#   - a Python virtual environment .venv with torch==2.11.0 (a complete libtorch
#     for tch, and the PyTorch peers in benches/peer) and numpy;
#   - the link .libtorch -> .venv/.../site-packages/torch that .cargo/config.toml names;
#   - the Python package `fsrgan` (python/, PyO3 + maturin) built and installed
#     into .venv, rebuilt only when its sources changed (python/build.sh), and
#     pytest for its test suite.
# Usage: scripts/setup.sh            (idempotent; prints what it does)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# 1. Debian packages.
pkgs=(libopenblas-dev pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "Debian packages present: ${pkgs[*]}"
fi

# 2. Python environment with torch 2.11.0 (libtorch for tch) and numpy.
TORCH_VERSION=2.11.0
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  say "creating virtual environment .venv"
  python3 -m venv .venv
fi
if "$PY" -c "import torch, numpy, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  say "torch $TORCH_VERSION and numpy present in .venv"
else
  say "installing torch==$TORCH_VERSION and numpy into .venv (about 4.6 GB, a minute or two)"
  "$PY" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION" numpy
fi

# 3. The libtorch link that .cargo/config.toml points LIBTORCH at.
TORCH_DIR=$("$PY" -c "import os, torch; print(os.path.dirname(torch.__file__))")
if [ "$(readlink .libtorch 2>/dev/null || true)" != "$TORCH_DIR" ]; then
  say "linking .libtorch -> $TORCH_DIR"
  ln -sfn "$TORCH_DIR" .libtorch
else
  say ".libtorch -> $TORCH_DIR"
fi
# 4. pytest (the Python package's suite, run by `cargo test` through tests/python.rs).
if "$PY" -c "import pytest" 2>/dev/null; then
  say "pytest present in .venv"
else
  say "installing pytest into .venv"
  "$PY" -m pip install -q --disable-pip-version-check "pytest>=7"
fi

# 5. The Python package `fsrgan` (maturin build --release; a few minutes the
#    first time, a fraction of a second when up to date).
python/build.sh
say "ready"
