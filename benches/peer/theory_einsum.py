"""NumPy peer of benches/theory.rs: the 4th-order moment contraction E<x,u>^4 and
one power-method sweep T(I,u,u,u) at d = 48, 192, 768, n = 10^4.

Two peers:
  * einsum on the full symmetric tensor T = E[x^(x)4] (d^4 float64 entries;
    built once, not timed; skipped where it does not fit in memory), as in
    'np.einsum("ijkl,i,j,k,l->", T, u, u, u, u)' and '"ijkl,j,k,l->i"';
  * NumPy's implicit contraction ((X @ u)**4).mean() and X.T @ (X @ u)**3 / n.
Prints one JSON line per measurement (median seconds over repeats).
Usage: .venv/bin/python benches/peer/theory_einsum.py [--threads 2]
"""
import argparse, json, os, time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--max-tensor-gb", type=float, default=4.0)
a = ap.parse_args()
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
import numpy as np


def median_time(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


rng = np.random.default_rng(1)
for d, n in [(48, 10_000), (192, 10_000), (768, 10_000), (192, 40_000)]:
    X = rng.standard_normal((n, d))
    u = rng.standard_normal(d)
    out = {"d": d, "n": n, "numpy": np.__version__}
    out["implicit_contraction_s"] = median_time(lambda: ((X @ u) ** 4).mean(), 30)
    out["implicit_sweep_s"] = median_time(lambda: X.T @ ((X @ u) ** 3) / n, 30)
    gb = d ** 4 * 8 / 1e9
    if gb <= a.max_tensor_gb and n == 10_000:
        # Build E[x^(x)4] in chunks (not timed).
        T = np.zeros((d, d, d, d))
        for s in range(0, n, 500):
            C = X[s:s + 500]
            T += np.einsum("ni,nj,nk,nl->ijkl", C, C, C, C, optimize=True)
        T /= n
        reps = 30 if d <= 48 else 3
        out["einsum_full_contraction_s"] = median_time(lambda: np.einsum("ijkl,i,j,k,l->", T, u, u, u, u, optimize=True), reps)
        out["einsum_full_sweep_s"] = median_time(lambda: np.einsum("ijkl,j,k,l->i", T, u, u, u, optimize=True), reps)
        # Sanity: both routes agree.
        assert abs(np.einsum("ijkl,i,j,k,l->", T, u, u, u, u, optimize=True) - ((X @ u) ** 4).mean()) < 1e-8 * ((X @ u) ** 4).mean()
        del T
    else:
        out["einsum_full"] = f"skipped: the d^4 tensor needs {gb:.1f} GB"
    print(json.dumps(out), flush=True)
