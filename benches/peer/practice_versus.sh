#!/usr/bin/env bash
# Speed of one practice-track GAN step, fsrgan (Rust/tch) beside the PyTorch
# eager peer (benches/peer/practice_torch.py), same networks, same threads,
# each measurement alone on the machine (flock -x).
#
#   benches/peer/practice_versus.sh [PRESET] [THREADS] [STEPS] [-- KEY=VALUE ...]
#
# KEY=VALUE pairs are practice-config overrides given to both sides (the
# peer understands loss, batch, width, blocks, z_dim, g_norm, to_rgb,
# d_first_layer, resample, minibatch_std). Prints both JSON lines and the
# ratio (Rust steps/s over PyTorch steps/s). Build first:
#   cargo build --release --example practice_speed
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-tiny}; threads=${2:-2}; steps=${3:-200}
shift $(( $# < 3 ? $# : 3 )) || true
[ "${1:-}" = "--" ] && shift
rs_args=(); py_args=()
for kv in "$@"; do
  k=${kv%%=*}; v=${kv#*=}
  rs_args+=(--set "$k=$v")
  v=${v//\"/}
  if [ "$k" = minibatch_std ]; then [ "$v" = true ] && py_args+=(--minibatch-std); else py_args+=(--${k//_/-} "$v"); fi
done
lock=/tmp/fsrgan-cpu.lock
rs=$(flock -x $lock target/release/examples/practice_speed --preset "$preset" --threads "$threads" --steps "$steps" "${rs_args[@]}")
py=$(flock -x $lock .venv/bin/python -W ignore benches/peer/practice_torch.py --preset "$preset" --threads "$threads" --steps "$steps" "${py_args[@]}")
echo "$rs"; echo "$py"
python3 -c "import json,sys; r=json.loads(sys.argv[1]); p=json.loads(sys.argv[2]); print(f'ratio (fsrgan / pytorch steps per second): {r[\"steps_per_sec\"]/p[\"steps_per_sec\"]:.2f}')" "$rs" "$py"
