#!/usr/bin/env python3
"""Reference data for head training: all-MiniLM-L6-v2 features of the TREC train and test sets
made by sentence-transformers (stored as float16 .npy to keep the repository small), and what
scikit-learn's LogisticRegression (lbfgs, L2) reaches on them. Writes fixtures/heads/.

    python tools/make_head_fixtures.py .cache/models/all-MiniLM-L6-v2

reference.json holds, for C = 1 (scikit-learn's default) with and without class_weight="balanced":
test accuracy and macro-F1 on the float16 features (what the Swift tests train on) and on the
float32 features (what `ckpt train-head` from text is compared with), and the test-set class
probabilities of the float16 run, to compare heads row by row.
"""
import json
import sys
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

ROOT = Path(__file__).resolve().parent.parent / "fixtures"


def read_tsv(path):
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return [r[0] for r in rows], [r[1] for r in rows]


def fit(train, y_train, test, y_test, class_weight):
    # In float64: given float32 arrays, scikit-learn's lbfgs stalls short of the optimum at
    # float32 resolution (the same answer for any tol), about 1e-3 away in probability.
    train, test = train.astype(np.float64), test.astype(np.float64)
    model = LogisticRegression(C=1.0, max_iter=10000, tol=1e-8, class_weight=class_weight)
    model.fit(train, y_train)
    predicted = model.predict(test)
    return model, {
        "accuracy": accuracy_score(y_test, predicted),
        "macro_f1": f1_score(y_test, predicted, average="macro"),
        "iterations": int(model.n_iter_[0]),
    }


def main():
    model_dir = sys.argv[1]
    y_train, x_train = read_tsv(ROOT / "data" / "trec-train.tsv")
    y_test, x_test = read_tsv(ROOT / "data" / "trec-test.tsv")
    encoder = SentenceTransformer(model_dir, device="cpu")
    f_train = encoder.encode(x_train, batch_size=64, convert_to_numpy=True).astype(np.float32)
    f_test = encoder.encode(x_test, batch_size=64, convert_to_numpy=True).astype(np.float32)
    out = ROOT / "heads"
    out.mkdir(exist_ok=True)
    np.save(out / "trec-train-minilm.npy", f_train.astype(np.float16))
    np.save(out / "trec-test-minilm.npy", f_test.astype(np.float16))
    h_train = f_train.astype(np.float16).astype(np.float32)
    h_test = f_test.astype(np.float16).astype(np.float32)

    reference = {"C": 1.0, "classes": sorted(set(y_train))}
    for name, weight in (("unweighted", None), ("balanced", "balanced")):
        model, f16 = fit(h_train, y_train, h_test, y_test, weight)
        _, f32 = fit(f_train, y_train, f_test, y_test, weight)
        reference[name] = {
            "float16_features": f16,
            "float32_features": f32,
            "test_probabilities": np.round(model.predict_proba(h_test.astype(np.float64)), 7).tolist(),
        }
        print(name, "f16", f16, "f32", f32)
    (out / "reference.json").write_text(json.dumps(reference) + "\n")


if __name__ == "__main__":
    main()
