"""PyTorch (CPU, eager) peer of fsrgan's FSR sampler, for benches/sampler.rs.

Generates the same model as fsrgan (dense float32 ops, as a PyTorch user would
write it): z -> S_1 = ReLU(alpha * (W z) - beta) -> S_l = ReLU(convT(S_{l-1}) - b_l)
-> X_l = convT(S_l, out_l, stride=q).  With --params it loads a
params.safetensors written by `fsrgan sample`; otherwise it draws random
parameters of the preset's shapes (the speed does not depend on their values,
only on the shapes: dense ops do the same work whatever the sparsity).

Usage: python benches/peer/sampler_torch.py --preset paper --threads 2 --n 20000
Prints samples/second as JSON.
"""
import argparse, json, time
import torch
import torch.nn.functional as F

PRESETS = {  # L, c, q, n1, m, d0, kernel
    "tiny": (2, 1, 2, 2, 4, 16, 2),
    "small": (3, 3, 2, 2, 12, 48, 4),
    "paper": (4, 3, 4, 2, 32, 128, 4),
}


def random_params(preset):
    L, c, q, n1, m, d0, k = PRESETS[preset]
    g = torch.Generator().manual_seed(0)
    p = {"level1.w": F.normalize(torch.randn(m, n1, n1, d0, generator=g), dim=-1),
         "level1.alpha": torch.ones(m), "level1.beta": torch.full((m,), 1.5)}
    for l in range(1, L + 1):
        if l >= 2:
            p[f"level{l}.weight"] = torch.randn(m, m, k, k, generator=g) / (2 * m) ** 0.5
            p[f"level{l}.bias"] = torch.full((m,), 1.0)
        p[f"level{l}.out"] = torch.randn(m, c, q, q, generator=g)
    return p, (L, c, q, n1, m, d0, k)


def generate(p, z, L, q, k):
    m1, n1 = p["level1.w"].shape[0], p["level1.w"].shape[1]
    g = (z @ p["level1.w"].reshape(-1, z.shape[1]).T).reshape(-1, m1, n1, n1)
    s = F.relu(p["level1.alpha"][None, :, None, None] * g - p["level1.beta"][None, :, None, None])
    xs = [F.conv_transpose2d(s, p["level1.out"], stride=q)]
    for l in range(2, L + 1):
        s = F.relu(F.conv_transpose2d(s, p[f"level{l}.weight"], stride=2, padding=(k - 2) // 2)
                   - p[f"level{l}.bias"][None, :, None, None])
        xs.append(F.conv_transpose2d(s, p[f"level{l}.out"], stride=q))
    return xs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="paper", choices=PRESETS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p, (L, c, q, n1, m, d0, k) = random_params(a.preset)
    with torch.inference_mode():
        z = torch.randn(a.batch, d0)
        generate(p, z, L, q, k)  # warm-up
        t = time.perf_counter()
        done = 0
        while done < a.n:
            z = torch.randn(a.batch, d0)
            xs = generate(p, z, L, q, k)
            done += a.batch
        el = time.perf_counter() - t
    print(json.dumps({"peer": "pytorch-cpu", "torch": torch.__version__, "preset": a.preset,
                      "threads": a.threads, "batch": a.batch, "samples_per_s": done / el}))


if __name__ == "__main__":
    main()
