#!/usr/bin/env python3
"""Checks that heads written by `ckpt train-head` load into PyTorch as the contract says and give
ckpt's logits: a linear head into torch.nn.Linear, an MLP into nn.Sequential(Linear, ReLU, Linear).
Trains both kinds on the committed TREC features, then compares `ckpt predict --format jsonl`
logits with PyTorch's on the test features (tolerance 1e-5, max absolute difference).

    python tools/verify_head.py .build/release/ckpt
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent / "fixtures"


def main():
    ckpt = sys.argv[1]
    features = np.load(ROOT / "heads" / "trec-test-minilm.npy").astype(np.float32)
    worst_overall = 0.0
    with tempfile.TemporaryDirectory() as work:
        for kind, extra in (("linear", []), ("mlp", ["--epochs", "5"])):
            head = Path(work) / kind
            subprocess.run([ckpt, "train-head", "--features", str(ROOT / "heads" / "trec-train-minilm.npy"),
                            "--labels", str(ROOT / "data" / "trec-train.tsv"), "--head", kind, "--output", str(head),
                            "--quiet"] + extra, check=True)
            out = subprocess.run([ckpt, "predict", "--head", str(head), "--features", str(ROOT / "heads" / "trec-test-minilm.npy"),
                                  "--format", "jsonl"], check=True, capture_output=True, text=True).stdout
            ours = np.array([json.loads(line)["logits"] for line in out.splitlines()], dtype=np.float64)
            state = load_file(head / "head.safetensors")
            d, k = features.shape[1], ours.shape[1]
            if kind == "linear":
                module = torch.nn.Linear(d, k)
            else:
                hidden = state["0.weight"].shape[0]
                module = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, k))
            module.load_state_dict(state)
            with torch.no_grad():
                theirs = module(torch.from_numpy(features)).double().numpy()
            worst = float(np.abs(ours - theirs).max())
            worst_overall = max(worst_overall, worst)
            print(f"{kind}: {len(ours)} rows, max |logit difference| = {worst:.2e}")
    if worst_overall > 1e-5:
        sys.exit(f"FAIL: logits differ by {worst_overall:.2e} > 1e-5")
    print("OK: within 1e-5")


if __name__ == "__main__":
    main()
