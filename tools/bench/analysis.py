#!/usr/bin/env python3
"""Projections and search against their Python peers, in one run:

1. t-SNE on 5,000 all-MiniLM-L6-v2 features of the bundled TREC questions (the first 5,000 rows of
   fixtures/heads/trec-train-minilm.npy), perplexity 30, 250 exaggerated + 750 steps: `ckpt project
   --method tsne` against openTSNE's TSNE (its defaults, Barnes-Hut below 10,000 points) at 2 threads,
   wall time of the fit (openTSNE) and of the whole process (ckpt: loading, affinities, PCA start,
   optimisation, exact KL, writing). Quality: scikit-learn's trustworthiness (k = 10) of each embedding
   and the exact KL divergence of each, with the same P (openTSNE's exact-neighbour affinities) and Q
   normalised over all pairs. t-SNE is not bound by products: no share of the product peak is given.
2. Exact search: a 100,000-row corpus (the 5,952 real TREC features, then copies with Gaussian noise of
   σ = 0.02 per channel, renormalised) and 1,000 queries (the 500 test features, then noisy copies),
   top 10 by cosine. `ckpt bench-search` (the search alone, corpus packed) against NumPy (float32 matmul,
   argpartition, sort) and PyTorch (mm + topk), each at 1 and 2 threads, best of 3; queries per second,
   ratio to the best peer, the scoring products' share of the engine's measured f32 peak; ckpt's ids
   checked against NumPy float64 brute force (ranks whose scores lie within 1e-5 may trade places).

    python tools/bench/analysis.py --ckpt .build/release/ckpt --work .cache/bench
"""
import argparse
import json

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "fixtures" / "heads"

OPENTSNE = r"""
import json, os, sys, time
import numpy as np
from openTSNE import TSNE
x = np.load(sys.argv[1]).astype(np.float64)
t = time.perf_counter()
y = TSNE(perplexity=30, n_iter=750, n_jobs=int(sys.argv[3]), random_state=0).fit(x)
seconds = time.perf_counter() - t
np.save(sys.argv[2], np.asarray(y))
print(json.dumps({"seconds": seconds}))
"""

PEER_SEARCH = r"""
import json, os, sys, time
threads = sys.argv[4]
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = threads
import numpy as np
import torch
torch.set_num_threads(int(threads))
c = np.load(sys.argv[1]).astype(np.float32); q = np.load(sys.argv[2]).astype(np.float32)
c /= np.linalg.norm(c, axis=1, keepdims=True); q /= np.linalg.norm(q, axis=1, keepdims=True)
k = 10
def numpy_search():
    s = q @ c.T
    part = np.argpartition(-s, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)
tc, tq = torch.from_numpy(c), torch.from_numpy(q)
def torch_search():
    with torch.inference_mode():
        return torch.topk(tq @ tc.T, k, dim=1).indices.numpy()
out = {}
for name, f in [("numpy", numpy_search), ("torch", torch_search)]:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
    out[name] = len(q) / best
print(json.dumps(out))
"""


def exact_kl(y, P):
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    w = 1 / (1 + d)
    np.fill_diagonal(w, 0)
    P = P.tocoo()
    return float(np.sum(P.data * np.log(P.data / (w[P.row, P.col] / w.sum()))))


def tsne(ckpt, work):
    from openTSNE.affinity import PerplexityBasedNN
    from sklearn.manifold import trustworthiness
    x = np.load(FIX / "trec-train-minilm.npy")[:5000].astype(np.float32)
    np.save(work / "tsne-input.npy", x)
    t = time.perf_counter()
    subprocess.run([ckpt, "project", "--features", str(work / "tsne-input.npy"), "--method", "tsne", "--threads", "2",
                    "--output", str(work / "tsne-ckpt.npy"), "--force"], check=True, capture_output=True)
    ckpt_seconds = time.perf_counter() - t
    peer = json.loads(subprocess.run([sys.executable, "-c", OPENTSNE, str(work / "tsne-input.npy"), str(work / "tsne-open.npy"), "2"],
                                     check=True, capture_output=True, text=True).stdout)
    P = PerplexityBasedNN(x.astype(np.float64), perplexity=30, method="exact", n_jobs=2).P
    ours, theirs = np.load(work / "tsne-ckpt.npy").astype(np.float64), np.load(work / "tsne-open.npy")
    rows = [("ckpt project --method tsne", ckpt_seconds, ours), ("openTSNE", peer["seconds"], theirs)]
    print("\nt-SNE, 5,000 MiniLM features, perplexity 30, 250 + 750 steps, 2 threads")
    print(f"{'route':<28}{'seconds':>9}{'trustworthiness':>17}{'KL (exact)':>12}")
    for name, seconds, y in rows:
        print(f"{name:<28}{seconds:>9.2f}{trustworthiness(x, y, n_neighbors=10):>17.4f}{exact_kl(y, P):>12.4f}")
    print(f"ckpt / openTSNE speed: {peer['seconds'] / ckpt_seconds:.2f}x")


def search(ckpt, work):
    rng = np.random.default_rng(0)
    train = np.load(FIX / "trec-train-minilm.npy").astype(np.float32)
    test = np.load(FIX / "trec-test-minilm.npy").astype(np.float32)

    def grow(base, n):
        rows = [base]
        while sum(len(r) for r in rows) < n:
            noisy = base + rng.normal(0, 0.02, base.shape).astype(np.float32)
            rows.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        return np.concatenate(rows)[:n]

    corpus, queries = grow(np.concatenate([train, test]), 100_000), grow(test, 1_000)
    np.save(work / "search-corpus.npy", corpus)
    np.save(work / "search-queries.npy", queries)
    print("\nExact search, top 10 by cosine, 100,000 × 384 corpus, 1,000 queries")
    print(f"{'route':<22}{'threads':>8}{'queries/s':>12}{'GFLOP/s':>10}{'of peak':>9}")
    best_ckpt = None
    for threads in (1, 2):
        out = json.loads(subprocess.run([ckpt, "bench-search", "--corpus", str(work / "search-corpus.npy"), "--queries", str(work / "search-queries.npy"),
                                         "--threads", str(threads), "--hits", str(work / "search-hits.npy")],
                                        check=True, capture_output=True, text=True).stdout)
        print(f"{'ckpt':<22}{threads:>8}{out['queries_per_second']:>12.0f}{out['gflops']:>10.1f}{out['gflops'] / out['peak_gflops']:>9.0%}")
        best_ckpt = max(best_ckpt or 0, out["queries_per_second"])
    best_peer = 0
    for threads in (1, 2):
        peers = json.loads(subprocess.run([sys.executable, "-c", PEER_SEARCH, str(work / "search-corpus.npy"), str(work / "search-queries.npy"), "10", str(threads)],
                                          check=True, capture_output=True, text=True).stdout)
        for name, qps in peers.items():
            print(f"{name:<22}{threads:>8}{qps:>12.0f}")
            best_peer = max(best_peer, qps)
    print(f"ckpt / best peer: {best_ckpt / best_peer:.2f}x")
    hits = np.load(work / "search-hits.npy").astype(np.int64)
    c = corpus.astype(np.float64); c /= np.linalg.norm(c, axis=1, keepdims=True)
    q = queries.astype(np.float64); q /= np.linalg.norm(q, axis=1, keepdims=True)
    scores = q @ c.T
    reference = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    mismatched = sum(1 for i in range(len(q)) for r in range(10)
                     if hits[i, r] != reference[i, r] and abs(scores[i, hits[i, r]] - scores[i, reference[i, r]]) > 1e-5)
    print(f"ids against NumPy float64 brute force: {mismatched} of {hits.size} differ beyond score ties")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    describe(args.ckpt)
    tsne(args.ckpt, work)
    search(args.ckpt, work)


if __name__ == "__main__":
    main()
