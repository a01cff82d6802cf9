#!/usr/bin/env python3
"""Checkpoint conversion: ckpt against the Python route on the same ~500 MB f32 checkpoint (the
GPT-2 124M shapes, random values) as safetensors, npz and torch.save's pytorch_model.bin, in one
run. Prints wall time, peak RSS and the ratios.

    python tools/bench/formats.py --ckpt .build/release/ckpt --work .cache/bench

Each command runs as its own process (best of --repeat runs, page cache warm); peak RSS is that
process's maximum resident set (GNU time). ckpt's and Python's runs alternate, so that both see the
same moments of this machine's drifting write speed. The Python peers' time is shown whole
(interpreter and imports included) and as the conversion alone (timed inside the script, after the
imports; the best of the runs); the ratio uses the latter.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

GPT2_SHAPES = [("wte.weight", (50257, 768)), ("wpe.weight", (1024, 768))]
for i in range(12):
    p = f"h.{i}."
    GPT2_SHAPES += [(p + "ln_1.weight", (768,)), (p + "ln_1.bias", (768,)),
                    (p + "attn.c_attn.weight", (768, 2304)), (p + "attn.c_attn.bias", (2304,)),
                    (p + "attn.c_proj.weight", (768, 768)), (p + "attn.c_proj.bias", (768,)),
                    (p + "ln_2.weight", (768,)), (p + "ln_2.bias", (768,)),
                    (p + "mlp.c_fc.weight", (768, 3072)), (p + "mlp.c_fc.bias", (3072,)),
                    (p + "mlp.c_proj.weight", (3072, 768)), (p + "mlp.c_proj.bias", (768,))]
GPT2_SHAPES += [("ln_f.weight", (768,)), ("ln_f.bias", (768,))]

# Each peer: (imports, untimed; the conversion, timed).
PEERS = {
    "st_to_npz": ("from safetensors.numpy import load_file\nimport numpy as np", """
tensors = load_file(SRC)
np.savez(DST, **tensors)
"""),
    "npz_to_st": ("from safetensors.numpy import save_file\nimport numpy as np", """
with np.load(SRC) as z:
    tensors = {k: z[k] for k in z.files}
save_file(tensors, DST)
"""),
    "st_to_bf16": ("import torch\nfrom safetensors.torch import load_file, save_file", """
tensors = load_file(SRC)
save_file({k: v.to(torch.bfloat16) for k, v in tensors.items()}, DST)
"""),
    # torch.load's default (weights_only=True) unpickler: the safe way to read a .bin with PyTorch.
    "bin_to_st": ("import torch\nfrom safetensors.torch import save_file", """
save_file(torch.load(SRC, map_location="cpu"), DST)
"""),
    "inspect": ("from safetensors import safe_open", """
with safe_open(SRC, framework="np") as f:
    rows = [(k, f.get_slice(k).get_dtype(), f.get_slice(k).get_shape()) for k in f.keys()]
    meta = f.metadata()
print(len(rows))
"""),
}
PEER_WRAPPER = """
import time, json, sys
{imports}
t0 = time.perf_counter()
SRC, DST = sys.argv[1], sys.argv[2]
{body}
print(json.dumps({{"work": time.perf_counter() - t0}}), file=sys.stderr)
"""


def make_inputs(work):
    st = work / "gpt2-shapes-f32.safetensors"
    npz = work / "gpt2-shapes-f32.npz"
    pt = work / "gpt2-shapes-f32.bin"
    if not st.exists():
        from safetensors.numpy import save_file
        rng = np.random.default_rng(0)
        save_file({name: rng.standard_normal(shape, dtype=np.float32) * 0.02 for name, shape in GPT2_SHAPES},
                  str(st), metadata={"format": "pt"})
    if not npz.exists():
        from safetensors.numpy import load_file
        np.savez(npz, **load_file(str(st)))
    if not pt.exists():
        import torch
        from safetensors.torch import load_file as load_torch
        torch.save(load_torch(str(st)), pt)
    return st, npz, pt


def run(cmd):
    """Wall seconds, peak RSS (bytes) and stderr of one process. GNU time reports the peak RSS: a
    child inherits the high-water mark of the process that forks it, and time's is tiny."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{proc.stderr}")
    lines = proc.stderr.strip().splitlines()
    rss = int(lines[-1].removeprefix("maxrss_kb=")) * 1024
    return wall, rss, "\n".join(lines[:-1])


def best_alternating(ours, theirs, repeat, cleanup):
    """Runs the two commands in turn `repeat` times; each one's fastest run."""
    runs = ([], [])
    for _ in range(repeat):
        for cmd, results in zip((ours, theirs), runs):
            cleanup()
            results.append(run(cmd))
    return [min(results, key=lambda r: r[0]) for results in runs] + [runs[1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--make-inputs", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.make_inputs:
        make_inputs(work)
        return
    # Inputs are made in a child process: a forked child starts with its parent's peak RSS, so this
    # process must stay small for the children's figures to be their own.
    subprocess.run([sys.executable, __file__, "--ckpt", args.ckpt, "--work", args.work, "--make-inputs"], check=True)
    st, npz, pt = work / "gpt2-shapes-f32.safetensors", work / "gpt2-shapes-f32.npz", work / "gpt2-shapes-f32.bin"
    size = st.stat().st_size
    for path in (st, npz, pt):  # warm the page cache
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass

    out = work / "out"
    def cleanup():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()

    tasks = [
        ("safetensors → npz", "st_to_npz", st, "x.npz", []),
        ("npz → safetensors", "npz_to_st", npz, "x.safetensors", []),
        ("safetensors → safetensors bf16", "st_to_bf16", st, "x.safetensors", ["--dtype", "bf16"]),
        ("pytorch_model.bin → safetensors", "bin_to_st", pt, "x.safetensors", []),
        ("inspect (header only)", "inspect", st, None, []),
    ]
    describe(args.ckpt)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; input {size / 1e6:.0f} MB f32, "
          f"{len(GPT2_SHAPES)} tensors; best of {args.repeat}")
    header = f"{'task':32} {'ckpt s':>8} {'ckpt RSS':>9} {'python s':>9} {'(work)':>8} {'py RSS':>8} {'speed-up':>9} {'RSS ratio':>9}"
    print(header)
    rows = []
    for label, peer, src, dst, flags in tasks:
        if dst:
            ckpt_cmd = [args.ckpt, "convert", str(src), str(out / dst), "--quiet"] + flags
        else:
            ckpt_cmd = [args.ckpt, "inspect", str(src)]
        imports, body = PEERS[peer]
        script = PEER_WRAPPER.format(imports=imports, body=body)
        p_cmd = [sys.executable, "-c", script, str(src), str(out / (dst or "unused"))]
        (c_wall, c_rss, _), (p_wall, p_rss, _), peer_runs = best_alternating(ckpt_cmd, p_cmd, args.repeat, cleanup)
        p_work = min(json.loads(err.strip().splitlines()[-1])["work"] for _, _, err in peer_runs)
        speedup = p_work / c_wall
        row = dict(task=label, ckpt_s=c_wall, ckpt_rss_mb=c_rss / 1e6, python_s=p_wall, python_work_s=p_work,
                   python_rss_mb=p_rss / 1e6, speedup=speedup, input_mb=size / 1e6)
        rows.append(row)
        print(f"{label:32} {c_wall:8.3f} {c_rss / 1e6:7.0f}MB {p_wall:9.3f} {p_work:8.3f} {p_rss / 1e6:6.0f}MB "
              f"{speedup:8.2f}x {p_rss / max(c_rss, 1):8.1f}x")
    (work / "formats.json").write_text(json.dumps(rows, indent=1))
    print(f"ckpt peak RSS budget (input + 64 MB): {(size + 64e6) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
