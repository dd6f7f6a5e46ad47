"""PyTorch eager peer of one GAN-default step of `fsrgan train` (closed-form
discriminator), for a side-by-side speed comparison on the same machine and
threads. Independent of fsrgan's code: it rebuilds the step from
src/train/closed.rs and src/train/stage.rs's descriptions:

* the discriminator responds to a fake batch A (no gradient):
  lambda_g = R_g - F_A,g for every feature group g;
* the generator descends -sum_g w_g <lambda_g, F_B,g> on an independent fake
  batch B (Adam), then the projections (orthonormal rows by 10 Newton-Schulz
  iterations, unit level-1 rows, alpha >= 0.05).

Feature groups (means over rows): dict1 — patch moments c = 1..4 of level 1;
level1 — code moments (powers 1..3 of every unit, products of all unit pairs)
of codes decoded with the frozen dictionary; superres{l} — patch moments and
(when c r^2 <= 256) the image second moment of level l, and per child offset
the cross moments (parents, child), (parents, child (x) child), (parents^2,
child), parents being the decoded parent codes (kernel 2) or their 3x3
windows (kernel 4).

The real side R is random here (speed does not depend on it); the learner
starts from the same kind of random state as fsrgan's.

Usage: python benches/peer/gan_torch.py --preset tiny|small|paper [--steps 50] [--threads 2]
       [--dtype float64|float32] [--device cpu|cuda]
Prints one JSON object: seconds per step of each stage kind.
"""
import argparse, json, math, time
import torch
import torch.nn.functional as F

PRESETS = {
    # levels, channels, q, n1, d0, m, kernel, batch, sr_batch, dtype
    "tiny": dict(L=2, c=1, q=2, n1=2, d0=16, m=4, k=2, batch=4096, sr_batch=2048, dtype="float64"),
    "small": dict(L=3, c=3, q=2, n1=2, d0=48, m=12, k=4, batch=4096, sr_batch=1024, dtype="float32"),
    "paper": dict(L=4, c=3, q=4, n1=2, d0=128, m=32, k=4, batch=8192, sr_batch=4096, dtype="float32"),
}
DEVICE = torch.device("cpu")


def patches(x, q):
    b, c, r, _ = x.shape
    n = r // q
    return x.reshape(b, c, n, q, n, q).permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c * q * q)


def squares(x):
    return (x[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)


def mean_outer(a, b):
    return (a.T @ b / a.shape[0]).reshape(-1)


def patch_moments(x):
    x2 = squares(x)
    return [x.mean(0), x2.mean(0), mean_outer(x2, x), mean_outer(x2, x2)]


def decode(x, atoms, q):
    b, c, r, _ = x.shape
    n = r // q
    return F.relu(patches(x, q) @ atoms.T).reshape(b, n, n, -1).permute(0, 3, 1, 2)


def parent_rows(s, k):
    b, m, n, _ = s.shape
    if k == 2:
        return s.permute(0, 2, 3, 1).reshape(b * n * n, m)
    return F.unfold(s, 3, padding=1).permute(0, 2, 1).reshape(b * n * n, 9 * m)


def child_rows(x, q, oy, ox):
    b, c, r, _ = x.shape
    n = r // q // 2
    v = x.reshape(b, c, n, 2, q, n, 2, q)[:, :, :, oy, :, :, ox, :]
    return v.permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c * q * q)


class Learner:
    def __init__(self, p, dtype):
        g = torch.Generator().manual_seed(1)
        D = p["c"] * p["q"] ** 2
        m, n1, d0 = p["m"], p["n1"], p["d0"]
        self.p = p
        def orth(m, d):
            a = torch.linalg.qr(torch.randn(d, m, generator=g, dtype=torch.float64))[0].T
            return a.to(DEVICE, dtype).requires_grad_()
        self.w1 = F.normalize(torch.randn(m * n1 * n1, d0, generator=g, dtype=torch.float64), dim=1).to(DEVICE, dtype).requires_grad_()
        self.alpha = torch.ones(m, dtype=dtype, device=DEVICE, requires_grad=True)
        self.t = torch.full((m,), 2.0, dtype=dtype, device=DEVICE, requires_grad=True)
        self.out = [orth(m, D) for _ in range(p["L"])]
        self.up = [((torch.randn(m, m, p["k"], p["k"], generator=g, dtype=torch.float64) / math.sqrt(m)).to(DEVICE, dtype).requires_grad_(),
                    torch.zeros(m, dtype=dtype, device=DEVICE, requires_grad=True)) for _ in range(p["L"] - 1)]

    def level1(self, z):
        m, n1 = self.p["m"], self.p["n1"]
        g = (z @ self.w1.T).reshape(-1, m, n1, n1)
        return F.relu(self.alpha[None, :, None, None] * (g - self.t[None, :, None, None]))

    def up_leaky(self, l, s, leak):
        w, b = self.up[l]
        u = F.conv_transpose2d(s, w, stride=2, padding=(self.p["k"] - 2) // 2) - b[None, :, None, None]
        return F.relu(u) + leak * u.clamp(max=0)

    def image(self, l, s):
        m, c, q = self.out[l].shape[0], self.p["c"], self.p["q"]
        return F.conv_transpose2d(s, self.out[l].reshape(m, c, q, q), stride=q)


def features(kind, g, z, l=None):
    p, q = g.p, g.p["q"]
    if kind == "dict1":
        return patch_moments(patches(g.image(0, g.level1(z)), q))
    if kind == "level1":
        with torch.no_grad():
            atoms = g.out[0].detach()
        s = decode(g.image(0, g.level1(z)), atoms, q)
        u = s.reshape(s.shape[0], -1)
        iu = torch.triu_indices(u.shape[1], u.shape[1], 1, device=u.device)
        return [u.mean(0), (u ** 2).mean(0), (u ** 3).mean(0), mean_outer(u, u).reshape(u.shape[1], u.shape[1])[iu[0], iu[1]]]
    with torch.no_grad():
        s = g.level1(z)
        for k in range(l - 1):
            s = g.up_leaky(k, s, 0.0)
        parent = decode(g.image(l - 1, s), g.out[l - 1], q)
    child = g.image(l, g.up_leaky(l - 1, s, 0.05))
    out = patch_moments(patches(child, q))
    v = child.reshape(child.shape[0], -1)
    if v.shape[1] <= 256:
        out.append(mean_outer(v, v))
    psi1 = parent_rows(parent, p["k"])
    psi2 = psi1 ** 2
    for oy in range(2):
        for ox in range(2):
            chi1 = child_rows(child, q, oy, ox)
            chi2 = squares(chi1)
            out += [mean_outer(psi1, chi1), mean_outer(psi1, chi2), mean_outer(psi2, chi1)]
    return out


def newton_schulz(t, iters=10):
    with torch.no_grad():
        bound = (t @ t.T).abs().sum(1).max()
        x = t / bound.sqrt()
        for _ in range(iters):
            x = 1.5 * x - 0.5 * (x @ x.T) @ x
        t.copy_(x)


def time_stage(kind, g, steps, l=None):
    p = g.p
    dtype = g.w1.dtype
    batch = p["sr_batch"] if kind == "superres" else p["batch"]
    params = {"dict1": [g.out[0], g.w1, g.alpha, g.t], "level1": [g.w1, g.alpha, g.t]}.get(kind)
    if params is None:
        params = [g.up[l - 1][0], g.up[l - 1][1], g.out[l]]
    opt = torch.optim.Adam(params, lr=0.02, betas=(0.5, 0.999))
    with torch.no_grad():
        R = [f.detach() + 0.01 for f in features(kind, g, torch.randn(batch, p["d0"], dtype=dtype, device=DEVICE), l)]
    w = [1.0 / float((r.double() ** 2).sum()) for r in R]
    t0 = None
    for it in range(steps + 3):
        if it == 3:
            t0 = time.perf_counter()
        with torch.no_grad():
            fa = features(kind, g, torch.randn(batch, p["d0"], dtype=dtype, device=DEVICE), l)
            lam = [r - f for r, f in zip(R, fa)]
        fb = features(kind, g, torch.randn(batch, p["d0"], dtype=dtype, device=DEVICE), l)
        loss = -sum(wg * (lg * f).sum() for wg, lg, f in zip(w, lam, fb))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            if kind == "dict1":
                newton_schulz(g.out[0])
            if kind in ("dict1", "level1"):
                g.w1.copy_(F.normalize(g.w1, dim=1))
                g.alpha.clamp_(min=0.05)
            if kind == "superres":
                newton_schulz(g.out[l])
        float(loss.detach())  # the Rust step reads its loss on the host too
    return (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=sorted(PRESETS))
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default=None, choices=["float64", "float32"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    global DEVICE
    DEVICE = torch.device(a.device)
    p = PRESETS[a.preset]
    dtype = getattr(torch, a.dtype or p["dtype"])
    g = Learner(p, dtype)
    out = {"preset": a.preset, "device": a.device, "threads": a.threads, "dtype": str(dtype).split(".")[1], "secs_per_step": {}}
    out["secs_per_step"]["dict1"] = time_stage("dict1", g, a.steps)
    out["secs_per_step"]["level1"] = time_stage("level1", g, a.steps)
    for l in range(1, p["L"]):
        out["secs_per_step"][f"superres{l + 1}"] = time_stage("superres", g, a.steps, l)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
