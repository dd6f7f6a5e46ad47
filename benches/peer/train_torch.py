"""PyTorch (Python, eager) peer of `fsrgan train`: the same layer-wise GAN
training step, timed stage by stage, for a side-by-side speed comparison with
the Rust/tch trainer on the same device.

What it does
------------
It reads a run directory written by `fsrgan train` (RUN_DIR):

  config.toml                         the resolved training config (parsed with tomllib)
  truth.safetensors                   the ground truth (level1.w/alpha/beta, level{l}.weight/bias/out)
  checkpoint/stage-NAME.safetensors   the Rust learner at the end of each stage
  metrics.jsonl                       the Rust rows (only for the indicative Rust times and --check)

and, for each stage in order (dict1, level1, superres2..L), builds the
learner and the stage's discriminator from those files, then times `steps`
GAN steps (times --steps-scale) of exactly the tensor operations of
src/train/stage.rs, with the same per-step host synchronisations as the Rust
loop. Warm starts and metrics are not part of the timed loop. Each stage
starts from the Rust run's state (stages are independent, not chained):

  dict1       learner = stage-dict1 (the end of dict1 itself: its previous
              state is the random init plus the warm start, which is not saved);
              Degree4 filters = the learner's atoms, lambda = 0, c = 0.
  level1      learner = stage-dict1; the tensors the Rust warm start writes at
              this stage's start are not saved anywhere, so they are taken from
              stage-level1 (the Rust end): w, alpha, t with warm_start (T6 method
              of moments, not re-implemented here), alpha, t without it.
              Moments discriminator standardised by `warm_samples` real codes
              decoded with the learner's M'_1 (exactly as warm.rs).
  superresL   learner = stage-<previous stage>; its M'_l (set by the dictionary
              warm start, then held by the stage) from stage-superresL, which
              equals the warm-started value; b_l by the same quantile rule as
              warm.rs `set_thresholds`, on `warm_samples` real pairs; Pair
              discriminator with filters M'_l and random u from the same seed.
              With adversarial = 0 (the presets) the discriminator is built but
              never stepped, as in the Rust code (it is still checked for
              finiteness every step, as the Rust loop does).

Latents come from `torch.manual_seed(seed); torch.randn(...)` with the seeds
of trainer.rs (`mix`) and stage.rs (`seed * 4 + i`), drawn as float64 on the
CPU and cast (as `seeded_randn`), on the device otherwise; with the same
libtorch on the CPU they are the Rust run's latents.

How it mirrors the Rust code, file by file (src/train/)
-------------------------------------------------------
  config.rs     tomllib on config.toml; precision f32 -> float32, f64 -> float64;
                --steps-scale F sets every stage's `steps` to max(1, round(F steps)),
                and the cosine schedule and the leak decay use the scaled steps.
  generator.rs  `Generator` (level1, up, up_leaky, up_pre, codes, image),
                `patches`, `decode`, `seeded_randn` with the same ops; every learner
                tensor requires grad (trainer.rs `trainable`), as in Rust.
  disc.rs       `Degree4`, `moment_features`, `Moments` (mean / unbiased sd,
                clamp 1e-6), `parent_windows` (unfold = im2col), `Pair`,
                `normalize_rows_` (projection to unit rows).
  optim.rs      `Optim`: SGD `p -= lr g` and Adam (bias-corrected, eps 1e-8) as
                tensor ops on the parameters; torch.optim is NOT used.
  stage.rs      `real_inputs`, `fake_inputs`, `score`, `g_params`, `project_g`
                (unit rows, alpha >= 0.05), `d_loss` (with the exact real side
                `c` of the linear Moments loss), `g_loss` (adversarial * loss +
                recon * L1), `gan_step` (alternating with n_d discriminator steps,
                or simultaneous). Gradients via torch.autograd.grad on the
                player's parameters (= tch run_backward with inputs). Losses are
                read with .item() where Rust calls double_value.
  warm.rs       `start_stage` (discriminators) and `set_thresholds`, as above.
  trainer.rs    `mix`, `rate` (constant | cosine), `leak`, the step loop with
                its checks: both losses finite, then
                `torch.isfinite(p).all().item()` for every learner parameter of
                the stage and every discriminator parameter, each step.
The Rust loop also evaluates metrics every `metrics_every` steps and writes
checkpoints every `checkpoint_every` steps; this peer does neither. The Rust
time shown beside it is `step_secs` of the stage's last row in metrics.jsonl:
the seconds spent in the stage's step loop alone (the clock stops for the
evaluations and checkpoints), i.e. the same work as this peer times. For an
exact side-by-side, run both on the same machine, one after the other.

--check
-------
After each stage's timed loop (untimed) it prints the stage's metric for
  rust     the Rust row at the stage's end in metrics.jsonl,
  rust*py  this file's metric code applied to the Rust stage-end checkpoint
           (should reproduce `rust`; it validates the metric code here),
  start    this file's metric of the Python learner at the stage start,
  python   this file's metric of the Python learner after its steps.
Metrics (as src/metrics and src/model/diagnostics.rs): dict1_min_cos = the
minimum matched |cos| of M'_1 with M_1 under the Hungarian matching
maximising the total |cos|; alpha_err = max_j |alpha'_pi(j) - alpha_j| /
alpha_j and c_err = ||C' - C||_F / ||C||_F (C the Gram matrix of the level-1
unit vectors) with the channels matched by that permutation; sr_residual{l}
= the A5 residual: decode the real X_{l-1} with the learner's M'_{l-1}
(threshold: the model's decode_tau), apply the learner's up layer l (ReLU,
no noise) and M'_l, relative error against the real X_l, on the Rust
evaluation's real set (eval_batch samples from seed mix(train_seed, 90)).

Usage
-----
  python benches/peer/train_torch.py RUN_DIR [--device cpu|cuda] [--threads N]
                                     [--steps-scale F] [--json] [--check]
e.g.
  ./target/release/fsrgan train --preset tiny --out /tmp/peer_tiny --device cpu
  .venv/bin/python benches/peer/train_torch.py /tmp/peer_tiny --threads 2 --check

Prints a table (per stage: steps, wall seconds of the step loop, steps/s,
with the Rust run's indicative time beside it; the total; device, dtype, torch
version, threads), or one JSON object with --json. On CUDA the clock is read
after torch.cuda.synchronize().
"""
import argparse
import json
import math
import os
import sys
import time
import tomllib

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rebuild_torch import read_safetensors as _read_safetensors  # noqa: E402

MASK64 = (1 << 64) - 1
MASK63 = 0x7FFF_FFFF_FFFF_FFFF
ACTIVE_REL = 1e-5  # warm.rs: codes below ACTIVE_REL * max count as inactive


# ----------------------------------------------------------------- files


def read_safetensors(path):
    """{name: float64 numpy array} of a safetensors file (rebuild_torch.py's reader)."""
    tensors, _ = _read_safetensors(path)
    return {k: v.astype(np.float64) for k, v in tensors.items()}


def stage_names(levels):
    """trainer/stage.rs `StageKind::all`: (name, kind, level 0-based)."""
    st = [("dict1", "dict", 0), ("level1", "level1", None)]
    st += [(f"superres{l + 1}", "superres", l) for l in range(1, levels)]
    return st


def stage_cfg(cfg, kind):
    return cfg[{"dict": "dictionary", "level1": "level1", "superres": "superres"}[kind]]


# ----------------------------------------------------------------- seeds


def mix(seed, a, b, c):
    """trainer.rs `mix`: a seed for (train_seed, stage index, step, purpose)."""
    h = seed ^ 0x9E37_79B9_7F4A_7C15
    for v in (a, b, c):
        h = ((h ^ v) * 0xBF58_476D_1CE4_E5B9) & MASK64
        h ^= h >> 31
    return h & MASK63


def seeded_randn(seed, shape, dtype, device):
    """generator.rs `seeded_randn`: manual_seed, then randn (float64 on the CPU, cast)."""
    torch.manual_seed(seed & MASK63)
    if device.type == "cpu":
        return torch.randn(shape, dtype=torch.float64).to(dtype)
    return torch.randn(shape, dtype=dtype, device=device)


# ----------------------------------------------------------------- generator.rs


class Generator:
    """The FSR generator: S_1 = ReLU(alpha (W_1 z - t)), S_l = ReLU(convT(S_{l-1}, W_l) - b_l),
    X_l = convT(S_l, out_l, stride q); out_l held as (m_l, D) rows."""

    def __init__(self, p, model, dtype, device, trainable=False):
        self.q, self.c = model["patch"], model["channels"]
        self.pad = (model["kernel"] - 2) // 2
        m1, n1, _, d0 = p["level1.w"].shape
        self.m1, self.n1, self.d0 = m1, n1, d0
        t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64)).to(dtype).to(device)  # a copy
        self.w1 = t(p["level1.w"].reshape(m1 * n1 * n1, d0))
        self.alpha = t(p["level1.alpha"])
        self.t = t(p["level1.beta"] / p["level1.alpha"])
        L = model["levels"]
        self.up = [(t(p[f"level{l}.weight"]), t(p[f"level{l}.bias"])) for l in range(2, L + 1)]
        self.out = [t(p[f"level{l}.out"].reshape(p[f"level{l}.out"].shape[0], -1)) for l in range(1, L + 1)]
        if trainable:  # trainer.rs `trainable`: every learner tensor requires grad
            for x in self.all_tensors():
                x.requires_grad_(True)

    def all_tensors(self):
        return [self.w1, self.alpha, self.t] + [x for wb in self.up for x in wb] + list(self.out)

    def to_params(self):
        """The parameters as float64 numpy arrays under the interchange names."""
        a = lambda x: x.detach().to("cpu", torch.float64).numpy()
        p = {"level1.w": a(self.w1).reshape(self.m1, self.n1, self.n1, self.d0),
             "level1.alpha": a(self.alpha)}
        p["level1.beta"] = p["level1.alpha"] * a(self.t)
        for i, (w, b) in enumerate(self.up):
            p[f"level{i + 2}.weight"], p[f"level{i + 2}.bias"] = a(w), a(b)
        for i, o in enumerate(self.out):
            p[f"level{i + 1}.out"] = a(o)
        return p

    def level1(self, z):
        g = (z @ self.w1.t()).view(-1, self.m1, self.n1, self.n1)
        a = self.alpha.view(1, self.m1, 1, 1)
        t = self.t.view(1, self.m1, 1, 1)
        return (a * (g - t)).relu()

    def up_pre(self, l, s):
        return F.conv_transpose2d(s, self.up[l][0], None, stride=2, padding=self.pad)

    def up_(self, l, s):
        return (self.up_pre(l, s) - self.up[l][1].view(1, -1, 1, 1)).relu()

    def up_leaky(self, l, s, leak):
        u = self.up_pre(l, s) - self.up[l][1].view(1, -1, 1, 1)
        if leak > 0.0:
            return u.relu() + u.clamp_max(0.0) * leak
        return u.relu()

    def codes(self, z):
        s = [self.level1(z)]
        for l in range(len(self.up)):
            s.append(self.up_(l, s[l]))
        return s

    def image(self, l, s):
        m = self.out[l].shape[0]
        w = self.out[l].view(m, self.c, self.q, self.q)  # output = "patch": ko = q, padding 0
        return F.conv_transpose2d(s, w, None, stride=self.q, padding=0)

    def images(self, z):
        return [self.image(l, s) for l, s in enumerate(self.codes(z))]


def patches(x, q):
    """(B n^2, c q q) patches of (B, c, n q, n q) images, (c, qy, qx) order."""
    b, c, r = x.shape[0], x.shape[1], x.shape[2]
    n = r // q
    return x.view(b, c, n, q, n, q).permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c * q * q)


def decode(x, atoms, q, tau):
    """ReLU(patches(x) M'^T - tau) as (B, m, n, n)."""
    b, n = x.shape[0], x.shape[2] // q
    m = atoms.shape[0]
    return (patches(x, q) @ atoms.t() - tau).relu().view(b, n, n, m).permute(0, 3, 1, 2)


# ----------------------------------------------------------------- disc.rs


def param(t):
    return t.detach().requires_grad_(True)


def normalize_rows_(t):
    with torch.no_grad():
        n = torch.norm(t, 2, dim=1, keepdim=True).clamp_min(1e-12)
        t.copy_(t / n)


class Degree4:
    """D(X) = (1/P) sum_p sum_j lambda_j <v_j, X[p]>^4 + c."""

    def __init__(self, v, lambda0, q):
        j = v.shape[0]
        self.v = param(v.clone())
        normalize_rows_(self.v)
        self.lam = param(torch.full((j,), lambda0, dtype=v.dtype, device=v.device))
        self.c = param(torch.zeros(1, dtype=v.dtype, device=v.device))
        self.q = q

    def score(self, x):
        b = x.shape[0]
        a = patches(x, self.q) @ self.v.t()
        per_patch = a.pow(4) @ self.lam
        return per_patch.view(b, -1).mean(1) + self.c

    def reg(self):
        return self.lam.square().sum() * 0.5

    def params(self):
        return [self.v, self.lam, self.c]

    def project(self):
        normalize_rows_(self.v)


def moment_features(s):
    """[s, s^2, s^3, s_u s_u' (u < u')] of codes (B, m, n, n), as (B, F)."""
    b = s.shape[0]
    u = s.reshape(b, -1)
    nu = u.shape[1]
    outer = u.unsqueeze(2) * u.unsqueeze(1)
    iu = torch.triu_indices(nu, nu, 1, dtype=torch.int64, device=s.device)
    pairs = outer.view(b, nu * nu).index_select(1, iu[0] * nu + iu[1])
    return torch.cat([u, u.square(), u.pow(3), pairs], 1)


class Moments:
    """D(s) = <lambda, (phi(s) - mu) / sd> + c."""

    def __init__(self, reference):
        f = reference.shape[1]
        kw = dict(dtype=reference.dtype, device=reference.device)
        self.mu = reference.mean(0).detach()
        self.sd = reference.std(0, correction=1).clamp_min(1e-6).detach()
        self.lam = param(torch.zeros(f, **kw))
        self.c = param(torch.zeros(1, **kw))

    def score(self, s):
        return ((moment_features(s) - self.mu) / self.sd) @ self.lam + self.c

    def reg(self):
        return self.lam.square().sum() * 0.5

    def params(self):
        return [self.lam, self.c]

    def project(self):
        pass


def parent_windows(s):
    """3x3 windows of parent codes (B, m, n', n') around each child patch's parent: (B n^2, 9 m)."""
    b, m, np_ = s.shape[0], s.shape[1], s.shape[2]
    cols = F.unfold(s, (3, 3), dilation=1, padding=1, stride=1).view(b, 9 * m, np_, np_)
    up = cols.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return up.permute(0, 2, 3, 1).reshape(b * 4 * np_ * np_, 9 * m)


class Pair:
    """(1/P) sum_p sum_j lambda_j <v_j, X_l[p]>^2 ReLU(<u_j, w_p> - tau_j) + mu_j <v_j, X_l[p]>^4 + c."""

    def __init__(self, v, window, q, seed):
        j = v.shape[0]
        kw = dict(dtype=v.dtype, device=v.device)
        u = seeded_randn(seed, (j, window), v.dtype, v.device) / math.sqrt(window)
        self.v = param(v.clone())
        normalize_rows_(self.v)
        self.u = param(u)
        self.tau = param(torch.zeros(j, **kw))
        self.lam = param(torch.zeros(j, **kw))
        self.mu = param(torch.zeros(j, **kw))
        self.c = param(torch.zeros(1, **kw))
        self.q = q

    def score(self, parent, x):
        b = x.shape[0]
        a = patches(x, self.q) @ self.v.t()
        w = parent_windows(parent)
        psi = (w @ self.u.t() - self.tau).relu()
        pair = (a.square() * psi) @ self.lam
        marg = a.pow(4) @ self.mu
        return (pair + marg).view(b, -1).mean(1) + self.c

    def reg(self):
        return (self.lam.square().sum() + self.mu.square().sum()) * 0.5

    def params(self):
        return [self.v, self.u, self.tau, self.lam, self.mu, self.c]

    def project(self):
        normalize_rows_(self.v)
        normalize_rows_(self.u)


# ----------------------------------------------------------------- optim.rs


class Optim:
    """SGD `p -= lr g`; Adam `m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
    p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + 1e-8)`, as tensor ops."""

    def __init__(self, kind, beta1, beta2, params):
        self.kind, self.beta1, self.beta2, self.t = kind, beta1, beta2, 0
        self.m = [torch.zeros_like(p).detach() for p in params]
        self.v = [torch.zeros_like(p).detach() for p in params]

    def step(self, params, grads, lr):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(params, grads)):
                if g is None:  # tch: undefined gradient
                    continue
                if self.kind == "sgd":
                    p.sub_(g * lr)
                else:
                    m = self.m[i] * b1 + g * (1.0 - b1)
                    v = self.v[i] * b2 + g * g * (1.0 - b2)
                    mh = m / (1.0 - b1 ** self.t)
                    vh = v / (1.0 - b2 ** self.t)
                    p.sub_(mh / (vh.sqrt() + 1e-8) * lr)
                    self.m[i], self.v[i] = m, v


# ----------------------------------------------------------------- stage.rs


class Ctx:
    def __init__(self, target, batch, tau, condition, dtype, device):
        self.target, self.batch, self.tau, self.condition = target, batch, tau, condition
        self.dtype, self.device, self.leak = dtype, device, 0.0

    def z(self, seed):
        return seeded_randn(seed, (self.batch, self.target.d0), self.dtype, self.device)


def codes_image(g, z, l):
    s = g.level1(z)
    for k in range(l):
        s = g.up_(k, s)
    return g.image(l, s)


def real_inputs(kind, l, ctx, learner, z):
    with torch.no_grad():
        t, q = ctx.target, ctx.target.q
        if kind == "dict":
            return [codes_image(t, z, l)]
        if kind == "level1":
            return [decode(t.image(0, t.level1(z)), learner.out[0], q, ctx.tau)]
        s = t.codes(z)  # as stage.rs: all levels, though only l-1 and l are used
        parent = decode(t.image(l - 1, s[l - 1]), learner.out[l - 1], q, ctx.tau)
        return [parent, t.image(l, s[l])]


def fake_inputs(kind, l, ctx, learner, z, real):
    q = learner.q
    if kind == "dict":
        return [codes_image(learner, z, l)]
    if kind == "level1":
        return [decode(learner.image(0, learner.level1(z)), learner.out[0], q, ctx.tau)]
    if ctx.condition == "real":
        parent = real[0]
    else:
        with torch.no_grad():
            s = learner.level1(z)
            for k in range(l - 1):
                s = learner.up_(k, s)
            parent = decode(learner.image(l - 1, s), learner.out[l - 1], q, ctx.tau)
    child = learner.image(l, learner.up_leaky(l - 1, parent, ctx.leak))
    return [parent, child]


def score(d, inputs):
    return d.score(*inputs)


def g_params(kind, l, g):
    if kind == "dict":
        return [g.out[l]]
    if kind == "level1":
        return [g.w1, g.alpha, g.t]
    return list(g.up[l - 1])


def project_g(kind, l, g):
    if kind == "dict":
        normalize_rows_(g.out[l])
    elif kind == "level1":
        normalize_rows_(g.w1)
        with torch.no_grad():
            g.alpha.clamp_min_(0.05)


def d_loss(loss, d, real, f):
    if loss == "linear" and isinstance(d, Moments):
        return -(d.c - f.mean())  # exact real side: standardised real features have mean 0
    r = score(d, real)
    if loss == "linear":
        return -(r.mean() - f.mean())
    return -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean())


def g_loss(scfg, d, real, fake):
    total = torch.zeros((), dtype=fake[0].dtype, device=fake[0].device)
    if scfg["adversarial"] > 0.0:
        f = score(d, fake)
        if scfg["loss"] == "linear":
            adv = -f.mean()
        elif scfg["loss"] == "minimax":
            adv = F.logsigmoid(-f).mean()
        else:
            adv = -F.logsigmoid(f).mean()
        total += adv * scfg["adversarial"]
    if scfg["recon"] > 0.0 and len(fake) == 2:
        total += (fake[1] - real[1]).abs().mean() * scfg["recon"]
    return total


def grad(loss, params, retain=False):
    return torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)


def gan_step(kind, l, scfg, lr_d, lr_g, seed, ctx, learner, disc, opt_d, opt_g, freeze_d, flip_g):
    """stage.rs `gan_step`; returns (d_loss or None, g_loss) as numbers."""
    gamma = scfg["gamma"]
    sign = -1.0 if flip_g else 1.0
    s4 = (seed * 4) & MASK64
    if scfg["update"] == "alternating":
        dl = None
        n_d = scfg["n_d"] if scfg["adversarial"] > 0.0 else 0
        for i in range(n_d):
            z_r = ctx.z((s4 + 2 * i) & MASK64)
            z_f = ctx.z((s4 + 2 * i + 1) & MASK64)
            real = real_inputs(kind, l, ctx, learner, z_r)
            with torch.no_grad():
                fake = [x.detach() for x in fake_inputs(kind, l, ctx, learner, z_f, real)]
            loss = d_loss(scfg["loss"], disc, real, score(disc, fake)) + disc.reg() * gamma
            dl = loss.item()
            if not freeze_d:
                ps = disc.params()
                opt_d.step(ps, grad(loss, ps), lr_d)
                disc.project()
        z_r = ctx.z((s4 + 2 * scfg["n_d"] + 2) & MASK64)
        z_f = ctx.z((s4 + 2 * scfg["n_d"] + 3) & MASK64)
        real = real_inputs(kind, l, ctx, learner, z_r)
        fake = fake_inputs(kind, l, ctx, learner, z_f, real)
        gl = g_loss(scfg, disc, real, fake) * sign
        gv = gl.item() * sign
        ps = g_params(kind, l, learner)
        opt_g.step(ps, grad(gl, ps), lr_g)
        project_g(kind, l, learner)
        return dl, gv
    # simultaneous
    z_r = ctx.z(s4)
    z_f = ctx.z((s4 + 1) & MASK64)
    real = real_inputs(kind, l, ctx, learner, z_r)
    fake = fake_inputs(kind, l, ctx, learner, z_f, real)
    dloss = d_loss(scfg["loss"], disc, real, score(disc, fake)) + disc.reg() * gamma
    gloss = g_loss(scfg, disc, real, fake) * sign
    dv, gv = dloss.item(), gloss.item() * sign
    gd = grad(dloss, disc.params(), retain=True)
    gg = grad(gloss, g_params(kind, l, learner))
    if not freeze_d and scfg["adversarial"] > 0.0:
        opt_d.step(disc.params(), gd, lr_d)
        disc.project()
    opt_g.step(g_params(kind, l, learner), gg, lr_g)
    project_g(kind, l, learner)
    return (dv if scfg["adversarial"] > 0.0 else None), gv


# ----------------------------------------------------------------- warm.rs (from checkpoints)


def set_thresholds(learner, l, real, ctx):
    """warm.rs `set_thresholds`: b'_l per channel = the (1 - rate) quantile of the
    pre-activations on real parents, rate = activity of the real children decoded with M'_l."""
    q, m = learner.q, learner.out[l].shape[0]
    with torch.no_grad():
        child = decode(real[1], learner.out[l], q, ctx.tau)
        thr = child.max().item() * ACTIVE_REL
        rates = child.gt(thr).double().mean(dim=(0, 2, 3)).cpu().numpy()
        pre = learner.up_pre(l - 1, real[0]).permute(1, 0, 2, 3).reshape(m, -1).double().cpu().numpy()
        b = []
        for c, rate in enumerate(rates):
            v = np.sort(pre[c])
            k = math.floor((1.0 - min(max(rate, 1e-4), 1.0)) * (max(len(v), 1) - 1) + 0.5)
            b.append(v[min(k, len(v) - 1)] if len(v) else 0.0)
        learner.up[l - 1][1].copy_(torch.tensor(b, dtype=torch.float64).to(ctx.dtype).to(ctx.device))


def start_stage(si, name, kind, l, cfg, scfg, ctx, ckpt, model, stages):
    """The learner and the discriminator at the start of stage `si` (see the module doc)."""
    dtype, device = ctx.dtype, ctx.device
    warm = scfg["warm_start"]
    frozen = cfg["debug"]["freeze_discriminator"]
    prev = ckpt(name if si == 0 else stages[si - 1][0])
    if kind == "level1":
        end = ckpt(name)
        keys = ["level1.alpha", "level1.beta"] + (["level1.w"] if warm else [])
        prev = dict(prev, **{k: end[k] for k in keys})
    if kind == "superres" and warm and not frozen:
        prev = dict(prev, **{f"level{l + 1}.out": ckpt(name)[f"level{l + 1}.out"]})
    learner = Generator(prev, model, dtype, device, trainable=True)
    seed = mix(cfg["train_seed"], 10 + si, 0, 0)
    z = seeded_randn(seed, (cfg["warm_samples"], model["d0"]), dtype, device)
    mixw = lambda k: (seed * 0x9E37_79B9 + k) & MASK64
    q = model["patch"]
    if kind == "dict":
        return learner, Degree4(learner.out[l].detach(), 0.0, q)
    if kind == "level1":
        real = real_inputs(kind, l, ctx, learner, z)[0]
        with torch.no_grad():
            feats = moment_features(real)
        return learner, Moments(feats)
    real = real_inputs(kind, l, ctx, learner, z)
    set_thresholds(learner, l, real, ctx)
    window = 9 * model["m"][l - 1]
    return learner, Pair(learner.out[l].detach(), window, q, mixw(3))


# ----------------------------------------------------------------- trainer.rs


def rate(scfg, steps, base, k):
    if scfg["schedule"] == "constant":
        return base
    return base * 0.5 * (1.0 + math.cos(math.pi * k / max(steps, 1)))


def leak_at(scfg, steps, k):
    return max(scfg["leak"] * (1.0 - 2.0 * k / max(steps, 1)), 0.0)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_stage(si, name, kind, l, cfg, scfg, steps, ctx, learner, disc):
    """The timed step loop of trainer.rs (without metrics and checkpoints); returns seconds."""
    opt_d = Optim(scfg["optimizer"], scfg["beta1"], scfg["beta2"], disc.params())
    opt_g = Optim(scfg["optimizer"], scfg["beta1"], scfg["beta2"], g_params(kind, l, learner))
    freeze_d, flip_g = cfg["debug"]["freeze_discriminator"], cfg["debug"]["flip_generator_loss"]
    sync(ctx.device)
    t0 = time.perf_counter()
    for k in range(steps):
        seed = mix(cfg["train_seed"], 100 + si, k, 0)
        ctx.leak = leak_at(scfg, steps, k)
        dl, gl = gan_step(kind, l, scfg, rate(scfg, steps, scfg["lr_d"], k), rate(scfg, steps, scfg["lr_g"], k),
                          seed, ctx, learner, disc, opt_d, opt_g, freeze_d, flip_g)
        for what, v in (("the discriminator's loss", 0.0 if dl is None else dl), ("the generator's loss", gl)):
            if not math.isfinite(v):
                sys.exit(f"stage `{name}` step {k + 1}: {what} is not finite")
        if not all(torch.isfinite(p).all().item() for p in g_params(kind, l, learner)):
            sys.exit(f"stage `{name}` step {k + 1}: a learner parameter is not finite")
        if not all(torch.isfinite(p).all().item() for p in disc.params()):
            sys.exit(f"stage `{name}` step {k + 1}: a discriminator parameter is not finite")
    sync(ctx.device)
    return time.perf_counter() - t0


# ----------------------------------------------------------------- --check metrics


def assignment(cost):
    """Min-cost assignment of rows to distinct columns (Hungarian, as theory/hungarian.rs)."""
    n, m = cost.shape
    inf = float("inf")
    u, v, p, way = [0.0] * (n + 1), [0.0] * (m + 1), [0] * (m + 1), [0] * (m + 1)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv, used = [inf] * (m + 1), [False] * (m + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = p[j0], inf, 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    perm = [0] * n
    for j in range(1, m + 1):
        if p[j]:
            perm[p[j] - 1] = j - 1
    return perm


def match_atoms(truth, learned):
    """(perm, matched |cos|) maximising the total |cos| (rows are atoms)."""
    a = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    b = learned / np.linalg.norm(learned, axis=1, keepdims=True)
    cos = np.abs(a @ b.T)
    perm = assignment(-cos)
    return perm, np.array([cos[i, j] for i, j in enumerate(perm)])


def atoms(p, l):
    o = p[f"level{l + 1}.out"]
    return o.reshape(o.shape[0], -1)


def level1_metrics(truth, lp):
    perm, cos = match_atoms(atoms(truth, 0), atoms(lp, 0))
    a, a2 = truth["level1.alpha"], lp["level1.alpha"]
    alpha_err = max(abs(a2[pj] - a[j]) / a[j] for j, pj in enumerate(perm))
    m, n1, _, d0 = truth["level1.w"].shape
    wt = truth["level1.w"].reshape(m * n1 * n1, d0)
    wl = lp["level1.w"][perm].reshape(m * n1 * n1, d0)
    ct, cl = wt @ wt.T, wl @ wl.T
    return {"dict1_min_cos": float(cos.min()), "alpha_err": float(alpha_err),
            "c_err": float(np.sqrt(((cl - ct) ** 2).sum() / (ct ** 2).sum()))}


def sr_residual(lp, model, real_x, l, device):
    """A5 residual of level l (0-based, >= 1) of params lp on real images real_x (float64)."""
    g = Generator(lp, model, torch.float64, device)
    q, tau = model["patch"], model["decode_tau"]
    err = ref = 0.0
    with torch.no_grad():
        for i in range(0, real_x[l].shape[0], 1024):
            lo, hi = real_x[l - 1][i:i + 1024], real_x[l][i:i + 1024]
            s = g.up_(l - 1, decode(lo, g.out[l - 1], q, tau))
            err += (g.image(l, s) - hi).square().sum().item()
            ref += hi.square().sum().item()
    return math.sqrt(err / ref) if ref > 0 else (math.inf if err > 0 else 0.0)


def stage_metrics(kind, l, truth, lp, model, real_x, device):
    if kind == "dict":
        _, cos = match_atoms(atoms(truth, 0), atoms(lp, 0))
        return {"dict1_min_cos": float(cos.min())}
    if kind == "level1":
        m = level1_metrics(truth, lp)
        return {"alpha_err": m["alpha_err"], "c_err": m["c_err"]}
    return {f"sr_residual{l + 1}": sr_residual(lp, model, real_x, l, device)}


def trained_names(kind, l):
    """Interchange names of the tensors a stage trains (stage.rs `g_params`)."""
    if kind == "dict":
        return [f"level{l + 1}.out"]
    if kind == "level1":
        return ["level1.w", "level1.alpha", "level1.beta"]
    return [f"level{l + 1}.weight", f"level{l + 1}.bias"]


def rust_rows(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rust_stage(rows, name, steps):
    """(Rust end-of-stage values, Rust seconds in the stage's step loop) or (None, None)."""
    end = [r for r in rows if r["stage"] == name and r["stage_step"] == steps]
    if not end:
        return None, None
    return end[-1]["values"], end[-1].get("step_secs")


# ----------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(
        description="PyTorch eager peer of `fsrgan train`: time the layer-wise GAN steps of a run directory.",
        epilog="See the module docstring for how each stage starts and how it mirrors src/train/.")
    ap.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by `fsrgan train`")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="run round(F * steps) steps per stage")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--check", action="store_true", help="compare each stage's metric with the Rust run")
    a = ap.parse_args()

    if a.threads is not None:
        torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: torch.cuda.is_available() is False")
    device = torch.device(a.device)
    cfg_path = os.path.join(a.run_dir, "config.toml")
    if not os.path.exists(cfg_path):
        sys.exit(f"{a.run_dir}: no config.toml (not a run directory of `fsrgan train`?)")
    with open(cfg_path, "rb") as f:
        cfg = tomllib.load(f)
    model = cfg["model"]
    if model["output"] != "patch":
        sys.exit("training supports output = \"patch\" only")
    cfg.setdefault("debug", {})
    cfg["debug"].setdefault("freeze_discriminator", False)
    cfg["debug"].setdefault("flip_generator_loss", False)
    dtype = {"f32": torch.float32, "f64": torch.float64}[cfg["precision"]]
    stages = stage_names(model["levels"])
    needed = ["truth.safetensors"] + [f"checkpoint/stage-{n}.safetensors" for n, _, _ in stages]
    missing = [p for p in needed if not os.path.exists(os.path.join(a.run_dir, p))]
    if missing:
        sys.exit(f"{a.run_dir}: missing {', '.join(missing)} (a finished `fsrgan train` run has them)")
    truth = read_safetensors(os.path.join(a.run_dir, "truth.safetensors"))
    cache = {}

    def ckpt(name):
        if name not in cache:
            cache[name] = read_safetensors(os.path.join(a.run_dir, f"checkpoint/stage-{name}.safetensors"))
        return cache[name]

    target = Generator(truth, model, dtype, device)
    ctx = Ctx(target, cfg["batch"], cfg["decode_tau"], cfg["condition"], dtype, device)
    rows = rust_rows(a.run_dir)
    real_x = None
    if a.check:
        # The Rust evaluation's real set (eval.rs: latents of seed mix(train_seed, 90, 0, 0)).
        with torch.no_grad():
            z = seeded_randn(mix(cfg["train_seed"], 90, 0, 0), (cfg["eval_batch"], model["d0"]), dtype, device)
            real_x = [x.double() for x in target.images(z)]
    with torch.no_grad():  # untimed warm-up (libraries, allocator), as the Rust warm starts are
        target.images(ctx.z(0))
    sync(device)

    results = []
    for si, (name, kind, l) in enumerate(stages):
        scfg = stage_cfg(cfg, kind)
        steps = max(1, round(scfg["steps"] * a.steps_scale)) if scfg["steps"] > 0 else 0
        learner, disc = start_stage(si, name, kind, l, cfg, scfg, ctx, ckpt, model, stages)
        start = stage_metrics(kind, l, truth, learner.to_params(), model, real_x, device) if a.check else None
        secs = run_stage(si, name, kind, l, cfg, scfg, steps, ctx, learner, disc)
        rv, rsecs = rust_stage(rows, name, scfg["steps"])
        r = {"stage": name, "steps": steps, "secs": secs, "steps_per_s": steps / secs if secs > 0 else None,
             "rust_steps": scfg["steps"], "rust_step_secs": rsecs,
             "rust_steps_per_s": scfg["steps"] / rsecs if rsecs else None}
        if a.check:
            mine = stage_metrics(kind, l, truth, learner.to_params(), model, real_x, device)
            theirs = stage_metrics(kind, l, truth, ckpt(name), model, real_x, device)
            r["check"] = {k: {"rust": (rv or {}).get(k), "rust*py": theirs[k], "start": start[k], "python": v}
                          for k, v in mine.items()}
            lp, rp = learner.to_params(), ckpt(name)
            r["check"]["max_abs_diff"] = {"python": max(float(np.abs(lp[k].reshape(rp[k].shape) - rp[k]).max()) for k in trained_names(kind, l))}
        results.append(r)
        del learner, disc

    tsteps = sum(r["steps"] for r in results)
    tsecs = sum(r["secs"] for r in results)
    rsecs = [r["rust_step_secs"] for r in results]
    rtotal = sum(rsecs) if all(x is not None for x in rsecs) else None
    rsteps = sum(r["rust_steps"] for r in results)
    out = {"peer": "pytorch-eager", "run_dir": a.run_dir, "preset": model.get("name"), "device": str(device),
           "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "dtype": str(dtype).replace("torch.", ""), "torch": torch.__version__,
           "threads": torch.get_num_threads(), "batch": cfg["batch"], "steps_scale": a.steps_scale,
           "stages": results, "total": {"steps": tsteps, "secs": tsecs, "steps_per_s": tsteps / tsecs if tsecs else None,
                     "rust_steps": rsteps, "rust_step_secs": rtotal,
                     "rust_steps_per_s": rsteps / rtotal if rtotal else None}}
    if a.json:
        print(json.dumps(out))
        return
    f = lambda x, fmt: "-" if x is None else format(x, fmt)
    print(f"PyTorch {out['torch']} eager on {out['device']} ({out['device_name']}), {out['dtype']}, "
          f"{out['threads']} threads, batch {out['batch']}, run {a.run_dir} ({out['preset']})")
    print(f"{'stage':<11} {'steps':>6} {'secs':>9} {'steps/s':>9}   {'rust steps':>10} {'rust step s':>11} {'rust steps/s':>12}")
    for r in results:
        print(f"{r['stage']:<11} {r['steps']:>6} {r['secs']:>9.3f} {f(r['steps_per_s'], '.2f'):>9}   "
              f"{r['rust_steps']:>10} {f(r['rust_step_secs'], '.2f'):>11} {f(r['rust_steps_per_s'], '.2f'):>12}")
    t = out["total"]
    print(f"{'total':<11} {t['steps']:>6} {t['secs']:>9.3f} {f(t['steps_per_s'], '.2f'):>9}   "
          f"{t['rust_steps']:>10} {f(t['rust_step_secs'], '.2f'):>11} {f(t['rust_steps_per_s'], '.2f'):>12}")
    if t["rust_steps_per_s"] and t["steps_per_s"]:
        print(f"Rust/PyTorch steps per second: {t['rust_steps_per_s'] / t['steps_per_s']:.2f}x "
              "(meaningful when both ran on the same machine)")
    if a.check:
        print(f"\n{'stage':<11} {'metric':<14} {'rust':>12} {'rust*py':>12} {'start':>12} {'python':>12}")
        for r in results:
            for k, v in r["check"].items():
                print(f"{r['stage']:<11} {k:<14} " + " ".join(f"{f(v.get(c), '.6g'):>12}" for c in ("rust", "rust*py", "start", "python")))
        print("rust: Rust row at the stage end; rust*py: this script's metric of the Rust stage-end checkpoint;\n"
              "start/python: the Python learner at the stage start / after its steps; max_abs_diff: the largest\n"
              "|Python - Rust| over the tensors the stage trains, both at the stage end.")


if __name__ == "__main__":
    main()
