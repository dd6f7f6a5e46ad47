"""Rebuild the FSR generator from a dataset's params.safetensors with PyTorch and
reproduce its images x{l} from its latents z (the dataset must be written with
--hidden).  Independent of fsrgan's code: it reads the files with json/numpy and
applies model.md section 2 with torch.nn.functional.conv_transpose2d.

Usage: python benches/peer/rebuild_torch.py DATASET_DIR [--dtype float64|float32]
Prints, per level, the relative error ||x_torch - x_file|| / ||x_file|| and the
max absolute error, as JSON; exits 1 if a relative error exceeds --tol.
"""
import argparse, json, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "F64": np.float64}[info["dtype"]]
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"])
    return out, header.get("__metadata__", {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    dtype = getattr(torch, a.dtype)
    manifest = json.load(open(os.path.join(a.dir, "manifest.json")))
    cfg = manifest["config"]
    p, _ = read_safetensors(os.path.join(a.dir, manifest["params_file"]))
    p = {k: torch.tensor(np.array(v), dtype=dtype) for k, v in p.items()}
    data = np.load(os.path.join(a.dir, manifest["samples_file"]))
    z = torch.tensor(data["z"], dtype=dtype)
    L, q, k = cfg["levels"], cfg["patch"], cfg["kernel"]
    ko = p["level1.out"].shape[-1]
    po = (ko - q) // 2  # 0 for the patch kernel, q/2 for the overlap kernel
    m1, n1 = p["level1.w"].shape[0], p["level1.w"].shape[1]
    with torch.no_grad():
        g = (z @ p["level1.w"].reshape(-1, z.shape[1]).T).reshape(-1, m1, n1, n1)
        s = F.relu(p["level1.alpha"][None, :, None, None] * g - p["level1.beta"][None, :, None, None])
        report = {"dtype": a.dtype, "samples": int(z.shape[0]), "levels": []}
        ok = True
        for l in range(1, L + 1):
            if l >= 2:
                pre = F.conv_transpose2d(s, p[f"level{l}.weight"], stride=2, padding=(k - 2) // 2)
                s = F.relu(pre - p[f"level{l}.bias"][None, :, None, None])
            x = F.conv_transpose2d(s, p[f"level{l}.out"], stride=q, padding=po)
            ref = torch.tensor(data[f"x{l}"], dtype=torch.float64)
            diff = x.double() - ref
            rel = float(diff.norm() / ref.norm())
            report["levels"].append({"level": l, "relative_error": rel, "max_abs_error": float(diff.abs().max())})
            ok &= rel <= a.tol
    print(json.dumps(report))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
