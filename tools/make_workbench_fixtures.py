#!/usr/bin/env python3
"""Reference data for the transfer-learning workbench, computed on the committed TREC features
(fixtures/heads/trec-*-minilm.npy) with NumPy and scikit-learn. Writes fixtures/heads/workbench.json:

- "folds": the test fold of each training row under scikit-learn's StratifiedKFold(5) (no shuffling).
- "grid": LogisticRegressionCV over λ = 1e-6 … 1e2 (C = 1 / (λ · n), n the mean fold training size),
  those folds, scikit-learn's defaults otherwise: mean CV accuracy per λ and the test accuracy.
- "centroid", "knn": nearest class mean and k-nearest-neighbour predictions on the test set, in NumPy
  (cosine on L2-normalised float32 features, ties as ckpt documents them), with the probabilities.
- "few_shot": the MTEB few-shot protocol (8 shots, 10 repeats, seed 42) with ckpt's sampler ported
  here (SplitMix64 Fisher–Yates), the linear head as scikit-learn's LogisticRegression(max_iter=100),
  centroid and kNN (k = 10) in NumPy: per-repeat accuracy and macro-F1, and the first two samples.
- "mteb_protocol": the same protocol with MTEB's own sampler (NumPy's global generator seeded with 42,
  np.random.shuffle carried across experiments) and scikit-learn's LogisticRegression(max_iter=100):
  mean and standard deviation of accuracy per head.

    python tools/make_workbench_fixtures.py
"""
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
MASK = (1 << 64) - 1


def read_labels(path):
    return [line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()[1:]]


class SplitMix64:
    """ckpt's SeededRandom."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def permutation(self, n):
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.next() % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def ckpt_samples(labels, shots, repeats, seed):
    rng = SplitMix64(seed)
    order = list(range(len(labels)))
    out = []
    for _ in range(repeats):
        perm = rng.permutation(len(order))
        order = [order[p] for p in perm]
        taken = defaultdict(int)
        sample = []
        for row in order:
            if taken[labels[row]] < shots:
                taken[labels[row]] += 1
                sample.append(row)
        out.append(sample)
    return out


def mteb_samples(labels, shots, repeats, seed):
    """MTEB's AbsTaskClassification._undersample_data, called as its evaluation loop calls it."""
    np.random.seed(seed)
    idxs = None
    out = []
    for _ in range(repeats):
        if idxs is None:
            idxs = np.arange(len(labels))
        np.random.shuffle(idxs)
        counter = defaultdict(int)
        sample = []
        for i in idxs:
            if counter[labels[i]] < shots:
                sample.append(int(i))
                counter[labels[i]] += 1
        out.append(sample)
    return out


def normalise(x):
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1)).astype(np.float32)


def centroid_predict(train, y, classes, test):
    xn = normalise(train)
    means = np.stack([xn[[i for i, c in enumerate(y) if c == k]].astype(np.float64).mean(axis=0) for k in classes]).astype(np.float32)
    scores = normalise(test) @ normalise(means).T
    p = np.exp(2 * (scores - scores.max(axis=1, keepdims=True)))
    return scores.argmax(axis=1), p / p.sum(axis=1, keepdims=True)


def knn_predict(train, y, classes, test, k, voting):
    index = {c: i for i, c in enumerate(classes)}
    yi = np.array([index[c] for c in y])
    sims = normalise(test) @ normalise(train).T
    preds, probs = [], []
    for row in sims:
        top = np.argsort(-row, kind="stable")[: min(k, len(row))]
        votes, sums = np.zeros(len(classes)), np.zeros(len(classes))
        for j in top:
            votes[yi[j]] += 1 if voting == "uniform" else row[j]
            sums[yi[j]] += row[j]
        best = 0
        for c in range(1, len(classes)):
            if votes[c] > votes[best] or (votes[c] == votes[best] and sums[c] > sums[best]):
                best = c
        preds.append(best)
        probs.append(votes / votes.sum())
    return np.array(preds), np.array(probs)


def scores(truth, predicted):
    return accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro")


def protocol(samples, train, y, test, yt):
    out = {h: {"accuracy": [], "macro_f1": []} for h in ("linear", "centroid", "knn")}
    for sample in samples:
        xs, ys = train[sample], [y[i] for i in sample]
        classes = sorted(set(ys))
        linear = LogisticRegression(max_iter=100).fit(xs, ys).predict(test)
        for head, predicted in (("linear", linear),
                                ("centroid", [classes[i] for i in centroid_predict(xs, ys, classes, test)[0]]),
                                ("knn", [classes[i] for i in knn_predict(xs, ys, classes, test, 10, "uniform")[0]])):
            a, f = scores(yt, predicted)
            out[head]["accuracy"].append(a)
            out[head]["macro_f1"].append(f)
    return out


def main():
    x = np.load(ROOT / "heads" / "trec-train-minilm.npy").astype(np.float32)
    t = np.load(ROOT / "heads" / "trec-test-minilm.npy").astype(np.float32)
    y = read_labels(ROOT / "data" / "trec-train.tsv")
    yt = read_labels(ROOT / "data" / "trec-test.tsv")
    classes = sorted(set(y))
    out = {}

    folds = np.empty(len(y), dtype=int)
    for fold, (_, test_rows) in enumerate(StratifiedKFold(5).split(x, y)):
        folds[test_rows] = fold
    out["folds"] = folds.tolist()

    lambdas = [10.0 ** e for e in range(-6, 3)]
    n_fold = len(y) * 4 / 5
    cv = LogisticRegressionCV(Cs=[1 / (lam * n_fold) for lam in lambdas], cv=StratifiedKFold(5)).fit(x, y)
    mean_scores = np.mean(next(iter(cv.scores_.values())), axis=0)
    out["grid"] = {"lambdas": lambdas, "cv_accuracy": mean_scores.tolist(),
                   "best_lambda": float(1 / (cv.C_[0] * n_fold)), "test_accuracy": accuracy_score(yt, cv.predict(t))}

    c_pred, c_prob = centroid_predict(x, y, classes, t)
    out["centroid"] = {"predictions": [classes[i] for i in c_pred], "probabilities": np.round(c_prob, 7).tolist()}
    out["knn"] = {}
    for k, voting in ((10, "uniform"), (5, "similarity")):
        k_pred, k_prob = knn_predict(x, y, classes, t, k, voting)
        out["knn"][f"{k}-{voting}"] = {"predictions": [classes[i] for i in k_pred], "probabilities": np.round(k_prob, 7).tolist()}

    samples = ckpt_samples(y, 8, 10, 42)
    out["few_shot"] = {"shots": 8, "repeats": 10, "seed": 42, "samples": samples[:2], **protocol(samples, x, y, t, yt)}
    mteb = protocol(mteb_samples(y, 8, 10, 42), x, y, t, yt)
    out["mteb_protocol"] = {h: {"accuracy_mean": float(np.mean(v["accuracy"])), "accuracy_std": float(np.std(v["accuracy"]))}
                            for h, v in mteb.items()}
    (ROOT / "heads" / "workbench.json").write_text(json.dumps(out) + "\n")
    for h in ("linear", "centroid", "knn"):
        print(f"few-shot {h}: ours {np.mean(out['few_shot'][h]['accuracy']):.4f}, MTEB sampler {out['mteb_protocol'][h]['accuracy_mean']:.4f}"
              f" ± {out['mteb_protocol'][h]['accuracy_std']:.4f}")
    print("grid", out["grid"]["cv_accuracy"], out["grid"]["test_accuracy"])


if __name__ == "__main__":
    main()
