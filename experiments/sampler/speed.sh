#!/usr/bin/env bash
# Sampler speed (issue 11): the end-to-end command against its two limits,
# the forward pass against the PyTorch peer, Python `sample` against the
# in-memory Rust sampler. Run alone on the machine: experiments/sampler/speed.sh
set -u
cd "$(dirname "$0")/../.."
B=target/release/fsrgan
echo "== end-to-end fsrgan sample --preset paper --n 100000 (--timing), twice"
for i in 1 2; do
  rm -rf /tmp/p100k
  /usr/bin/time -f "wall %e s, peak RSS %M KB" $B sample --preset paper --n 100000 --seed 1 --out /tmp/p100k --timing 2>&1 | grep -E 'timing|wall|wrote'
done
rm -rf /tmp/p100k
echo "== dd, the dataset's size (6.7 GB)"
dd if=/dev/zero of=/tmp/ddtest bs=16M count=400 conv=fdatasync 2>&1 | tail -1; rm -f /tmp/ddtest
echo "== criterion forward pass"
cargo bench --bench sampler -- '^sampler/' --warm-up-time 2 --measurement-time 8 2>&1 | grep -E '^sampler/|thrpt' 
echo "== PyTorch peer"
for b in 64 256; do .venv/bin/python benches/peer/sampler_torch.py --preset paper --threads 2 --batch $b --n 20000; done
for b in 1024 4096; do .venv/bin/python benches/peer/sampler_torch.py --preset small --threads 2 --batch $b --n 200000; done
echo "== Python sample (best of 3)"
.venv/bin/python - <<'PY'
import time, fsrgan
for preset, n in [("small", 200_000), ("paper", 20_000)]:
    p = fsrgan.Params(preset, 1)  # built beforehand: the bench does not time calibration
    for hidden in (True, False):
        best = 1e9
        for _ in range(3):
            t = time.perf_counter(); d = fsrgan.sample(p, n=n, seed=1, hidden=hidden); best = min(best, time.perf_counter() - t); del d
        print(f"python sample {preset} hidden={hidden}: {n / best:.0f} samples/s ({best:.3f} s for {n})")
        out = fsrgan.sample(p, n=n, seed=1, hidden=hidden)  # preallocated arrays, reused
        best = 1e9
        for _ in range(3):
            t = time.perf_counter(); fsrgan.sample(p, n=n, seed=1, hidden=hidden, out=out); best = min(best, time.perf_counter() - t)
        print(f"python sample {preset} hidden={hidden} out=: {n / best:.0f} samples/s ({best:.3f} s for {n})")
PY
echo "== the same command on tmpfs (no disk; 20,000 samples)"
for i in 1 2; do
  rm -rf /dev/shm/fsrgan-p
  $B sample --preset paper --n 20000 --seed 1 --out /dev/shm/fsrgan-p --timing 2>&1 | grep -E 'timing|wrote'
done
rm -rf /dev/shm/fsrgan-p
