"""PyTorch (Python, eager) peer of one practice-track GAN step
(src/train/practice): the same generator and critic, the same losses and the
same step, for a side-by-side speed comparison with the Rust/tch game on the
same machine and threads. Independent of fsrgan's code: it rebuilds the
networks from src/train/practice/nets.rs's description.

Generator: level 1 Linear(z, C s s) -> (C, s, s); level l >= 2
ConvTranspose2d(C, C, 4, stride 2, padding 1) (resample "transposed") or
nearest 2x + Conv2d 3x3 ("nearest"); `blocks` Conv2d 3x3; batch norm before
ReLU (g_norm "batch") or pixel norm after it ("pixel"); per-level head
ConvTranspose2d(C, c, q, stride q) (to_rgb "patch") or Conv2d 1x1.
Critic (end to end, every level): fromRGB_l Conv2d(c, C, q, stride q)
(d_first_layer "patch") or 1x1, LeakyReLU(0.2); h_{l-1} = Down_l(h_l) +
fromRGB_{l-1}(x_{l-1}), Down_l = `blocks` Conv2d 3x3 + LeakyReLU then Conv2d
4x4 stride 2 padding 1 + LeakyReLU; (minibatch std); Conv2d 3x3, LeakyReLU,
Linear to one logit. Adam (torch.optim.Adam, default implementation) per player.

Step (DCGAN loop, n_d = 1): z ~ N(0, I); fake = G(z); D step on
(real, fake.detach()) (+ WGAN-GP penalty by double backward); G step on
D(fake) with the updated D. Real batches are fixed random tensors (the speed
does not depend on their values); losses are read back as Python floats each
step, as the Rust game does.

Usage: python benches/peer/practice_torch.py --preset tiny|small|paper
       [--loss non_saturating|wgan_gp|...] [--batch 64] [--width 64] [--blocks 1]
       [--g-norm batch|pixel|none] [--steps 200] [--warmup 20] [--threads 2]
       [--dtype float32|float64] [--device cpu|cuda]
Prints one JSON object with steps per second.
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "tiny": dict(L=2, c=1, q=2, r1=4),
    "small": dict(L=3, c=3, q=2, r1=4),
    "paper": dict(L=4, c=3, q=4, r1=8),
}


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()


def mbstd(x):
    b, c, h, w = x.shape
    g = next(g for g in range(min(4, b), 0, -1) if b % g == 0)
    y = x.reshape(g, b // g, c, h, w)
    y = y - y.mean(0, keepdim=True)
    sd = (y.square().mean(0) + 1e-8).sqrt().mean((1, 2, 3))
    ch = sd.reshape(1, b // g, 1, 1, 1).repeat(g, 1, 1, h, w).reshape(b, 1, h, w)
    return torch.cat([x, ch], 1)


class Generator(nn.Module):
    def __init__(self, p, a):
        super().__init__()
        L, c, q = p["L"], p["c"], p["q"]
        res = [p["r1"] << l for l in range(L)]
        self.grid = [r // q if a.to_rgb == "patch" else r for r in res]
        w = a.width
        self.w = w
        self.norm = a.g_norm

        def post(ch):
            mods = []
            if a.g_norm == "batch":
                mods.append(nn.BatchNorm2d(ch))
            mods.append(nn.ReLU())
            if a.g_norm == "pixel":
                mods.append(PixelNorm())
            return mods

        self.project = nn.Linear(a.z_dim, w * self.grid[0] ** 2)
        self.project_post = nn.Sequential(*post(w))
        self.levels = nn.ModuleList()
        self.heads = nn.ModuleList()
        for l in range(L):
            mods = []
            if l > 0:
                if a.resample == "transposed":
                    mods.append(nn.ConvTranspose2d(w, w, 4, 2, 1))
                else:
                    mods += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w, w, 3, 1, 1)]
                mods += post(w)
            for _ in range(a.blocks):
                mods += [nn.Conv2d(w, w, 3, 1, 1)] + post(w)
            self.levels.append(nn.Sequential(*mods))
            self.heads.append(nn.ConvTranspose2d(w, c, q, q) if a.to_rgb == "patch" else nn.Conv2d(w, c, 1))

    def forward(self, z):
        s = self.grid[0]
        if self.norm == "pixel":
            z = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        h = self.project_post(self.project(z).reshape(-1, self.w, s, s))
        out = []
        for lev, head in zip(self.levels, self.heads):
            h = lev(h)
            out.append(head(h))
        return out


class Critic(nn.Module):
    def __init__(self, p, a):
        super().__init__()
        L, c, q = p["L"], p["c"], p["q"]
        res = [p["r1"] << l for l in range(L)]
        grid = [r // q if a.d_first_layer == "patch" else r for r in res]
        w = a.width
        self.mbstd = a.minibatch_std
        self.from_rgb = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(c, w, q, q) if a.d_first_layer == "patch" else nn.Conv2d(c, w, 1), nn.LeakyReLU(0.2)) for _ in range(L)]
        )
        self.down = nn.ModuleList([nn.Identity()])
        for l in range(1, L):
            mods = []
            for _ in range(a.blocks):
                mods += [nn.Conv2d(w, w, 3, 1, 1), nn.LeakyReLU(0.2)]
            if a.resample == "transposed":
                mods += [nn.Conv2d(w, w, 4, 2, 1), nn.LeakyReLU(0.2)]
            else:
                mods += [nn.Conv2d(w, w, 3, 1, 1), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
            self.down.append(nn.Sequential(*mods))
        self.final_conv = nn.Conv2d(w + int(a.minibatch_std), w, 3, 1, 1)
        self.final_lin = nn.Linear(w * grid[0] ** 2, 1)

    def forward(self, xs):
        top = len(xs) - 1
        h = self.from_rgb[top](xs[top])
        for l in range(top, 0, -1):
            h = self.down[l](h) + self.from_rgb[l - 1](xs[l - 1])
        if self.mbstd:
            h = mbstd(h)
        h = F.leaky_relu(self.final_conv(h), 0.2)
        return self.final_lin(h.flatten(1)).squeeze(1)


def d_loss(kind, dr, df):
    if kind in ("minimax", "non_saturating"):
        return -(F.logsigmoid(dr).mean() + F.logsigmoid(-df).mean())
    if kind in ("wgan", "wgan_gp"):
        return df.mean() - dr.mean()
    if kind == "lsgan":
        return 0.5 * ((dr - 1).square().mean() + df.square().mean())
    return F.relu(1 - dr).mean() + F.relu(1 + df).mean()


def g_loss(kind, df):
    if kind == "minimax":
        return F.logsigmoid(-df).mean()
    if kind == "non_saturating":
        return -F.logsigmoid(df).mean()
    if kind == "lsgan":
        return 0.5 * (df - 1).square().mean()
    return -df.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="tiny", choices=list(PRESETS))
    ap.add_argument("--loss", default="non_saturating")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--z-dim", dest="z_dim", type=int, default=64)
    ap.add_argument("--g-norm", dest="g_norm", default="batch")
    ap.add_argument("--to-rgb", dest="to_rgb", default="patch")
    ap.add_argument("--d-first-layer", dest="d_first_layer", default="patch")
    ap.add_argument("--resample", default="transposed")
    ap.add_argument("--minibatch-std", dest="minibatch_std", action="store_true")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    dev = torch.device(a.device)
    torch.manual_seed(1)
    p = PRESETS[a.preset]
    G = Generator(p, a).to(dev, dtype)
    D = Critic(p, a).to(dev, dtype)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = [torch.randn(a.batch, p["c"], p["r1"] << l, p["r1"] << l, device=dev, dtype=dtype) for l in range(p["L"])]

    def step():
        z = torch.randn(a.batch, a.z_dim, device=dev, dtype=dtype)
        fake = G(z)
        dr = D(real)
        df = D([f.detach() for f in fake])
        ld = d_loss(a.loss, dr, df)
        if a.loss == "wgan_gp":
            eps = torch.rand(a.batch, 1, 1, 1, device=dev, dtype=dtype)
            xh = [(f.detach() + (r - f.detach()) * eps).requires_grad_(True) for r, f in zip(real, fake)]
            out = D(xh)
            gr = torch.autograd.grad(out.sum(), xh, create_graph=True)
            sq = sum(g.square().reshape(a.batch, -1).sum(1) for g in gr)
            ld = ld + 10.0 * (sq.sqrt() - 1).square().mean()
        opt_d.zero_grad(set_to_none=True)
        ld.backward()
        opt_d.step()
        if a.loss == "wgan":
            with torch.no_grad():
                for q in D.parameters():
                    q.clamp_(-0.01, 0.01)
        lg = g_loss(a.loss, D(fake))
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        return float(ld), float(lg), float(dr.mean()), float(df.mean())

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch-eager", "torch": torch.__version__, "preset": a.preset, "loss": a.loss,
        "batch": a.batch, "width": a.width, "blocks": a.blocks, "threads": a.threads,
        "device": a.device, "dtype": a.dtype, "steps": a.steps,
        "secs_per_step": secs / a.steps, "steps_per_sec": a.steps / secs,
    }))


if __name__ == "__main__":
    main()
