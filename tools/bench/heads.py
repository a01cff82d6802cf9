#!/usr/bin/env python3
"""Head training: ckpt against scikit-learn, in one run.

1. Fitting a linear head on the committed TREC features (all-MiniLM-L6-v2, 5,452 × 384):
   LogisticRegression(C=1, lbfgs) against `ckpt train-head --features`, (a) with scikit-learn's
   defaults and ckpt given the same iteration budget, (b) both run to a tight tolerance. Fit time
   only (ckpt reports its own, scikit-learn's is timed around fit()), best of 3, test accuracy.
2. The whole route from text: sentence-transformers encode + LogisticRegression fit + predict
   against `ckpt train-head --model` + `ckpt evaluate` (no feature cache), wall time of both.
Threads: 1 and 2 for the fit (OMP/OpenBLAS limits for the peer), then each side at its fastest
thread count; the route at 2.

    python tools/bench/heads.py --ckpt .build/release/ckpt --model .cache/models/all-MiniLM-L6-v2 --work .cache/bench
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "fixtures"

FIT_PEER = r"""
import json, sys, time, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
tol, max_iter = float(sys.argv[1]), int(sys.argv[2])
X = np.load(sys.argv[3]).astype(np.float32); T = np.load(sys.argv[4]).astype(np.float32)
read = lambda p: [l.split("\t", 1)[0] for l in open(p, encoding="utf-8").read().splitlines()[1:]]
y, yt = read(sys.argv[5]), read(sys.argv[6])
best = float("inf")
for _ in range(3):
    t = time.perf_counter(); m = LogisticRegression(C=1.0, tol=tol, max_iter=max_iter).fit(X, y); best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "iterations": int(m.n_iter_[0]), "accuracy": accuracy_score(yt, m.predict(T))}))
"""

ROUTE_PEER = r"""
import json, sys, time
t = time.perf_counter()
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
import torch
torch.set_num_threads(int(sys.argv[4]))
read = lambda p: [l.split("\t", 1) for l in open(p, encoding="utf-8").read().splitlines()[1:]]
train, test = read(sys.argv[2]), read(sys.argv[3])
model = SentenceTransformer(sys.argv[1], device="cpu")
X = model.encode([r[1] for r in train], batch_size=32); T = model.encode([r[1] for r in test], batch_size=32)
head = LogisticRegression(C=1.0, max_iter=1000).fit(X, [r[0] for r in train])
accuracy = accuracy_score([r[0] for r in test], head.predict(T))
print(json.dumps({"seconds": time.perf_counter() - t, "accuracy": accuracy}))
"""


def peer_env(threads):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def ckpt_fit(ckpt, work, threads, epochs=None):
    head = work / "bench-head"
    best, out = float("inf"), None
    for _ in range(3):
        cmd = [ckpt, "train-head", "--features", str(FIX / "heads" / "trec-train-minilm.npy"), "--labels",
               str(FIX / "data" / "trec-train.tsv"), "--output", str(head), "--force", "--threads", str(threads)]
        if epochs:
            cmd += ["--epochs", str(epochs)]
        err = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
        match = re.search(r"L-BFGS, (\d+) iterations.*fitted in ([0-9.]+) s", err)
        seconds = float(match.group(2))
        if seconds < best:
            best, out = seconds, int(match.group(1))
    scores = json.loads(subprocess.run([ckpt, "evaluate", "--head", str(head), "--features", str(FIX / "heads" / "trec-test-minilm.npy"),
                                        "--labels", str(FIX / "data" / "trec-test.tsv"), "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    return {"seconds": best, "iterations": out, "accuracy": scores["accuracy"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    files = [str(FIX / "heads" / "trec-train-minilm.npy"), str(FIX / "heads" / "trec-test-minilm.npy"),
             str(FIX / "data" / "trec-train.tsv"), str(FIX / "data" / "trec-test.tsv")]
    print(f"{'linear head fit (5,452 × 384, 6 classes)':44} {'thr':>3} {'ckpt s':>8} {'it':>4} {'acc':>6} "
          f"{'sklearn s':>9} {'it':>4} {'acc':>6} {'ratio':>6}")
    for threads in (1, 2):
        for name, tol, max_iter in (("scikit-learn defaults, same budget", 1e-4, 100), ("both to tolerance 1e-7", 1e-7, 10000)):
            p = json.loads(subprocess.run([sys.executable, "-c", FIT_PEER, str(tol), str(max_iter), *files], check=True,
                                          capture_output=True, text=True, env=peer_env(threads)).stdout)
            c = ckpt_fit(args.ckpt, work, threads, epochs=p["iterations"] if tol == 1e-4 else None)
            row = dict(kind="fit", name=name, threads=threads, ckpt=c, sklearn=p, ratio=p["seconds"] / c["seconds"])
            rows.append(row)
            print(f"{name:44} {threads:3} {c['seconds']:8.3f} {c['iterations']:4} {c['accuracy']:6.3f} "
                  f"{p['seconds']:9.3f} {p['iterations']:4} {p['accuracy']:6.3f} {row['ratio']:5.1f}x")
    # scikit-learn at its fastest thread count (more threads are not always faster for it) against ckpt's best.
    for name in ("scikit-learn defaults, same budget", "both to tolerance 1e-7"):
        fits = [r for r in rows if r.get("name") == name]
        best_peer = min(fits, key=lambda r: r["sklearn"]["seconds"])
        best_ckpt = min(fits, key=lambda r: r["ckpt"]["seconds"])
        print(f"{name + ', each at its best':44} {'':3} {best_ckpt['ckpt']['seconds']:8.3f} ({best_ckpt['threads']} thr)"
              f"{'':8} {best_peer['sklearn']['seconds']:9.3f} ({best_peer['threads']} thr)"
              f"{'':2} {best_peer['sklearn']['seconds'] / best_ckpt['ckpt']['seconds']:5.1f}x")

    threads = 2
    train, test = str(FIX / "data" / "trec-train.tsv"), str(FIX / "data" / "trec-test.tsv")
    start = time.perf_counter()
    head = work / "bench-route-head"
    subprocess.run([args.ckpt, "train-head", "--model", args.model, "--train", train, "--output", str(head), "--force",
                    "--no-cache", "--quiet", "--threads", str(threads)], check=True)
    scores = json.loads(subprocess.run([args.ckpt, "evaluate", "--head", str(head), "--test", test, "--json", "--no-cache",
                                        "--quiet", "--threads", str(threads)], check=True, capture_output=True, text=True).stdout)
    c = {"seconds": time.perf_counter() - start, "accuracy": scores["accuracy"]}
    p = json.loads(subprocess.run([sys.executable, "-c", ROUTE_PEER, args.model, train, test, str(threads)], check=True,
                                  capture_output=True, text=True, env=peer_env(threads)).stdout)
    row = dict(kind="route", threads=threads, ckpt=c, peer=p, ratio=p["seconds"] / c["seconds"])
    rows.append(row)
    print(f"\n{'text → head → test accuracy (5,452 + 500 texts)':44} {'thr':>3} {'ckpt s':>8} {'acc':>6} {'ST+sklearn s':>13} {'acc':>6} {'ratio':>6}")
    print(f"{'train-head + evaluate vs encode + fit + predict':44} {threads:3} {c['seconds']:8.1f} {c['accuracy']:6.3f} "
          f"{p['seconds']:13.1f} {p['accuracy']:6.3f} {row['ratio']:5.2f}x")
    (work / "heads.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
