#!/usr/bin/env python3
"""Runs ckpt's conversions over the reference fixtures, loads every file ckpt writes with NumPy,
safetensors and PyTorch, checks the values against the reference's own, and pins the results
(CRC-32 per output file or npz member) in fixtures/formats/conversions.json, which the Swift tests
replay through the library.

    python tools/verify_format_outputs.py .build/release/ckpt
"""
import json
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "formats"

CONVERSIONS = [
    {"input": "valid/mixed.safetensors", "output": "mixed.npz", "exclude": ["f8_"]},
    {"input": "valid/mixed.safetensors", "output": "mixed_deflate.npz", "exclude": ["f8_"], "compress": True},
    {"input": "valid/arrays.npz", "output": "arrays.safetensors"},
    {"input": "valid/arrays_compressed.npz", "output": "arrays_compressed.safetensors"},
    {"input": "valid/bigendian.npz", "output": "bigendian.safetensors"},
    {"input": "valid/fortran.npz", "output": "fortran.safetensors"},
    {"input": "valid/versions.npz", "output": "versions.safetensors"},
    {"input": "valid/bf16.npz", "output": "bf16.safetensors"},
    {"input": "valid/sharded", "output": "sharded.safetensors"},
    {"input": "valid/mixed.safetensors", "output": "shards/", "max_shard_size": "64B"},
    {"input": "valid/mixed.safetensors", "output": "mixed_bf16.safetensors", "dtype": "bf16"},
    {"input": "valid/mixed.safetensors", "output": "mixed_f16.safetensors", "dtype": "f16"},
    {"input": "valid/arrays.npz", "output": "arrays_f32.npz", "dtype": "f32"},
    {"input": "valid/arrays.npz", "output": "arrays_bf16.npz", "dtype": "bf16"},
    {"input": "valid/mixed.safetensors", "output": "filtered.safetensors", "include": ["^layer\\."], "exclude": ["bool"]},
] + [
    {"input": f"valid/dtype_{d}.safetensors", "output": f"dtype_{d}.npz"}
    for d in ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"]
]

TORCH = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def reference_tensors(path):
    """The input's tensors as torch tensors, read by the reference libraries."""
    path = ROOT / path
    if path.is_dir():
        index = json.loads((path / "model.safetensors.index.json").read_text())
        out = {}
        for shard in sorted(set(index["weight_map"].values())):
            out.update(load_file(str(path / shard)))
        return out
    if path.suffix == ".safetensors":
        return load_file(str(path))
    out = {}
    with np.load(path) as z:
        for k in z.files:
            a = z[k]
            if a.dtype.kind == "V":  # bf16 saved as 2-byte void
                out[k] = torch.from_numpy(a.view(np.uint16).astype(np.int16)).view(torch.bfloat16)
            else:
                out[k] = torch.from_numpy(a.astype(a.dtype.newbyteorder("<"), order="C"))  # keeps 0-d arrays 0-d
    return out


def selected(name, spec):
    import re
    inc = spec.get("include", [])
    exc = spec.get("exclude", [])
    return (not inc or any(re.search(p, name) for p in inc)) and not any(re.search(p, name) for p in exc)


def cast_reference(t, dtype):
    """What the reference gives for a cast: NumPy for f16 and f32, PyTorch for bf16."""
    if dtype is None or not t.dtype.is_floating_point:
        return t
    if dtype in ("f16", "f32") and t.dtype in (torch.float64, torch.float32, torch.float16):
        return torch.from_numpy(t.numpy().astype(np.float16 if dtype == "f16" else np.float32))
    return t.to(TORCH[dtype])


def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.is_floating_point:
        nan_a, nan_b = torch.isnan(a.float()), torch.isnan(b.float())
        return torch.equal(nan_a, nan_b) and torch.equal(a[~nan_a], b[~nan_b])
    return torch.equal(a, b)


def load_output(path):
    """ckpt's output, read by the reference libraries (every format it may be)."""
    if path.is_dir():
        return reference_tensors(path)
    if path.suffix == ".safetensors":
        with safe_open(str(path), framework="np") as f:  # also checks NumPy can read each tensor
            for k in f.keys():
                if f.get_slice(k).get_dtype() not in ("BF16", "F8_E4M3", "F8_E5M2"):
                    f.get_tensor(k)
        return load_file(str(path))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None, "bad CRC"
    return reference_tensors(path)


def pins(path):
    if path.is_dir():
        return {p.name: zlib.crc32(p.read_bytes()) for p in sorted(path.iterdir())}
    if path.suffix == ".npz":
        with zipfile.ZipFile(path) as z:
            return {i.filename: i.CRC for i in z.infolist()}
    return {path.name: zlib.crc32(path.read_bytes())}


def main():
    ckpt = sys.argv[1]
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in CONVERSIONS:
            out = Path(tmp) / spec["output"]
            cmd = [ckpt, "convert", str(ROOT / spec["input"]), str(out) + ("/" if spec["output"].endswith("/") else ""), "--quiet"]
            for p in spec.get("include", []):
                cmd += ["--include", p]
            for p in spec.get("exclude", []):
                cmd += ["--exclude", p]
            if spec.get("compress"):
                cmd.append("--compress")
            if "dtype" in spec:
                cmd += ["--dtype", spec["dtype"]]
            if "max_shard_size" in spec:
                cmd += ["--max-shard-size", spec["max_shard_size"]]
            subprocess.run(cmd, check=True)
            source = {k: v for k, v in reference_tensors(spec["input"]).items() if selected(k, spec)}
            written = load_output(out)
            assert list(sorted(written)) == list(sorted(source)), (spec, sorted(written), sorted(source))
            for name, tensor in source.items():
                expected = cast_reference(tensor, spec.get("dtype"))
                assert same(written[name], expected), (spec["output"], name, written[name], expected)
            records.append({**spec, "pins": pins(out)})
            print(f"ok  {spec['input']} -> {spec['output']}: {len(source)} tensors identical to the reference")
    (ROOT / "conversions.json").write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
