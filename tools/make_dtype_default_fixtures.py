#!/usr/bin/env python3
"""Writes fixtures/bert/dtype-defaults.json: the type transformers loads a model's weights in when
`from_pretrained` is given no dtype (its default, `dtype="auto"`), for copies of
fixtures/bert/bertmodel whose config's dtype key and weights' type vary. ckpt's default precision
follows it (`Precision.stored(in:configDType:)`): TransformersTests rebuilds each case and checks.

  cases[i].config    what the config says: {"dtype": v}, {"torch_dtype": v}, or {} (neither key)
  cases[i].weights   the floating-point tensors' type in model.safetensors
  cases[i].loaded    model.dtype after AutoModel.from_pretrained(directory), e.g. "bfloat16"

    python tools/make_dtype_default_fixtures.py
"""
import json
import tempfile
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModel

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "bert"
CASES = [
    ({"dtype": "float32"}, "bfloat16"),
    ({}, "bfloat16"),
    ({}, "float32"),
    ({}, "float16"),
    ({"torch_dtype": "bfloat16"}, "float32"),
    ({"dtype": "bfloat16"}, "float32"),
    ({"dtype": "float16"}, "float32"),
]


def main():
    source = ROOT / "bertmodel"
    config = json.loads((source / "config.json").read_text())
    state = load_file(str(source / "model.safetensors"))
    cases = []
    for settings, weights in CASES:
        with tempfile.TemporaryDirectory() as directory:
            written = {k: v for k, v in config.items() if k not in ("dtype", "torch_dtype")} | settings
            (Path(directory) / "config.json").write_text(json.dumps(written, indent=2))
            kind = getattr(torch, weights)
            save_file({k: v.to(kind) if v.is_floating_point() else v for k, v in state.items()},
                      str(Path(directory) / "model.safetensors"), metadata={"format": "pt"})
            loaded = AutoModel.from_pretrained(directory).dtype
        cases.append({"config": settings, "weights": weights, "loaded": str(loaded).removeprefix("torch.")})
    out = {"transformers": transformers.__version__, "cases": cases}
    (ROOT / "dtype-defaults.json").write_text(json.dumps(out, indent=1) + "\n")
    for case in cases:
        print(case)


if __name__ == "__main__":
    main()
