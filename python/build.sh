#!/usr/bin/env bash
# Builds the Python package `fsrgan` (python/, PyO3 + maturin) and installs it
# into .venv when its sources changed; fast (well under a second) when the
# installed package is up to date.
#
#   python/build.sh           build + install if stale (prints what it does)
#   python/build.sh --check   exit 0 if the installed package is up to date, 1 if not
#   python/build.sh --hash    print the source hash
#
# "Up to date" means: the SHA-256 over the Rust sources of the library and the
# package (src/, python/src/), the Python files (python/python/), the
# manifests (Cargo.toml, Cargo.lock, python/Cargo.toml, python/pyproject.toml)
# and build.rs equals the stamp .venv/fsrgan-py.stamp written after the last
# install, and `import fsrgan` works. The stamp lives in the environment, so it
# describes what is installed there.
#
# The build: `maturin build --release` (maturin from PyPI, installed into
# .venv if missing) into target/wheels, in the workspace's target/ (sharing
# compiled dependencies with `cargo build --release`), then
# `pip install --force-reinstall --no-deps` of the wheel. The wheel is for
# this machine (`--compatibility linux --auditwheel skip`): it links the
# system OpenBLAS instead of bundling it. The library is built
# without its `torch` feature: importing the package never loads libtorch.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
STAMP=.venv/fsrgan-py.stamp
MATURIN_SPEC='maturin>=1.9.4,<2'
say() { printf '[setup] %s\n' "$*"; }

source_hash() {
  {
    find src python/src python/python -type f \
      \( -name '*.rs' -o -name '*.py' -o -name '*.pyi' -o -name 'py.typed' \) \
      -not -path '*/__pycache__/*'
    printf '%s\n' Cargo.toml Cargo.lock build.rs python/Cargo.toml python/pyproject.toml
  } | LC_ALL=C sort | while read -r f; do
    [ -f "$f" ] && printf '%s\n' "$f" && cat "$f"
  done | sha256sum | cut -d' ' -f1
}

up_to_date() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$1" ] &&
    "$PY" -c "import fsrgan" >/dev/null 2>&1
}

hash=$(source_hash)
case "${1:-}" in
  --hash) echo "$hash"; exit 0 ;;
  --check) up_to_date "$hash"; exit $? ;;
  "") ;;
  *) echo "usage: python/build.sh [--check|--hash]" >&2; exit 2 ;;
esac

if up_to_date "$hash"; then
  say "Python package fsrgan up to date in .venv"
  exit 0
fi
if ! .venv/bin/maturin --version >/dev/null 2>&1; then
  say "installing $MATURIN_SPEC into .venv"
  "$PY" -m pip install -q --disable-pip-version-check "$MATURIN_SPEC"
fi
say "building the Python package fsrgan (maturin build --release; a few minutes the first time)"
rm -f target/wheels/fsrgan-*.whl
.venv/bin/maturin build --release --quiet --compatibility linux --auditwheel skip -i "$PY" -m python/Cargo.toml --out target/wheels >&2
wheel=$(ls target/wheels/fsrgan-*.whl)
say "installing $(basename "$wheel") into .venv"
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
"$PY" -c "import fsrgan" # fails loudly if the wheel does not import
echo "$hash" >"$STAMP"
say "Python package fsrgan installed"
