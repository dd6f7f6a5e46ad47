"""Samples per second of `fsrgan.sample` (Python) at `small` and `paper`, to
set beside `cargo bench --bench sampler` (the in-memory Rust sampler, chunks
of 1024 reused, all cores of the rayon pool). Same threads: both use the
global rayon pool (all cores) unless --threads is given.

    flock -x /tmp/fsrgan-cpu.lock .venv/bin/python python/bench/bench_sample.py
    flock -x /tmp/fsrgan-cpu.lock cargo bench --bench sampler

Each call returns fresh float32 arrays (what a user gets), so the Python
numbers include allocating and first-touching the output; the ground truth
is drawn once (`fsrgan.Params`) outside the timed calls, as the Rust bench
does. Reports the median of `--repeats` calls after one warm-up call.
"""

import argparse
import json
import statistics
import time

import fsrgan


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="small,paper")
    ap.add_argument("--n", type=int, default=None, help="samples per call (default: 1 s of work)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for preset in args.presets.split(","):
        params = fsrgan.Params(preset, 1)
        for hidden in (True, False):
            n = args.n or {"tiny": 400_000, "small": 131_072, "paper": 16_384}.get(preset, 16_384)
            fsrgan.sample(params, n=n, seed=1, hidden=hidden, threads=args.threads)  # warm-up
            times = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                data = fsrgan.sample(params, n=n, seed=1 + r, hidden=hidden, threads=args.threads)
                times.append(time.perf_counter() - t0)
                del data
            med = statistics.median(times)
            rows.append(
                {
                    "preset": preset,
                    "hidden": hidden,
                    "n": n,
                    "median_s": med,
                    "samples_per_s": n / med,
                    "min_s": min(times),
                    "max_s": max(times),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'preset':<7} {'hidden':<6} {'n':>8} {'median s':>9} {'samples/s':>11}  (min..max s)")
        for r in rows:
            print(
                f"{r['preset']:<7} {str(r['hidden']):<6} {r['n']:>8} {r['median_s']:>9.4f} "
                f"{r['samples_per_s']:>11.0f}  ({r['min_s']:.4f}..{r['max_s']:.4f})"
            )


if __name__ == "__main__":
    main()
