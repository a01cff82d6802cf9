#!/usr/bin/env python3
"""The transfer-learning workbench against scikit-learn and Optuna, in one run, on the committed TREC
features (all-MiniLM-L6-v2, 5,452 × 384 train, 500 test):

1. Grid search over λ = 1e-6 … 1e2 with 5 stratified folds: `ckpt tune-head --search grid` against
   LogisticRegressionCV(Cs = 1 / (λ · n), cv = StratifiedKFold(5)) — the same folds, the same
   stopping rule (tol 1e-4, 100 iterations). Wall time of each whole process (Python: interpreter,
   imports, loading, fit, test; best of 3) and scikit-learn's fit alone; scikit-learn at n_jobs 1
   and 2, each side at its best.
2. TPE, 30 trials, linear head (λ log-uniform 1e-6 … 1e2, class weighting none | balanced):
   `ckpt tune-head --search tpe` against Optuna's TPESampler (its defaults) driving scikit-learn's
   LogisticRegression over the same folds (cross_val_score, n_jobs 1 and 2); seed 0 at both thread
   counts, then seeds 1 … --tpe-seeds − 1 (default 10 seeds in all) at each side's faster one (TPE is
   random: compare means over seeds).
3. Warm start: a study on the first half of the training rows, then a study on the second half,
   cold and with --warm-start: the first trial reaching the cold study's best within 0.5 points.
4. Few-shot (8 shots, 10 repeats, seed 42): `ckpt few-shot` against the same protocol in
   scikit-learn and NumPy (tools/make_workbench_fixtures.py's), wall time; and ckpt's curve over
   1, 2, 4, 8, 16 shots.

    python tools/bench/workbench.py --ckpt .build/release/ckpt --work .cache/bench
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "fixtures"
TRAIN, TEST = FIX / "heads" / "trec-train-minilm.npy", FIX / "heads" / "trec-test-minilm.npy"
TRAIN_LABELS, TEST_LABELS = FIX / "data" / "trec-train.tsv", FIX / "data" / "trec-test.tsv"

GRID_PEER = r"""
import json, sys, time
import numpy as np
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
t0 = time.perf_counter()
read = lambda p: [l.split("\t", 1)[0] for l in open(p, encoding="utf-8").read().splitlines()[1:]]
X = np.load(sys.argv[1]).astype(np.float32); T = np.load(sys.argv[2]).astype(np.float32)
y, yt = read(sys.argv[3]), read(sys.argv[4])
lambdas = [10.0 ** e for e in range(-6, 3)]
n_fold = len(y) * 4 / 5
fit = time.perf_counter()
m = LogisticRegressionCV(Cs=[1 / (l * n_fold) for l in lambdas], cv=StratifiedKFold(5), n_jobs=int(sys.argv[5])).fit(X, y)
fit = time.perf_counter() - fit
cv = np.mean(next(iter(m.scores_.values())), axis=0)
print(json.dumps({"fit_seconds": fit, "cv_best": float(cv.max()), "test_accuracy": float((m.predict(T) == np.array(yt)).mean())}))
"""

TPE_PEER = r"""
import json, sys, time, warnings
import numpy as np
import optuna
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
warnings.filterwarnings("ignore")
optuna.logging.set_verbosity(optuna.logging.WARNING)
read = lambda p: [l.split("\t", 1)[0] for l in open(p, encoding="utf-8").read().splitlines()[1:]]
X = np.load(sys.argv[1]).astype(np.float32); y = read(sys.argv[2])
jobs, trials = int(sys.argv[3]), int(sys.argv[4])
n_fold = len(y) * 4 / 5
def objective(trial):
    lam = trial.suggest_float("lambda", 1e-6, 1e2, log=True)
    weight = trial.suggest_categorical("class_weight", ["none", "balanced"])
    model = LogisticRegression(C=1 / (lam * n_fold), class_weight=None if weight == "none" else "balanced")
    return cross_val_score(model, X, y, cv=StratifiedKFold(5), n_jobs=jobs).mean()
t = time.perf_counter()
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=int(sys.argv[5])))
study.optimize(objective, n_trials=trials)
print(json.dumps({"search_seconds": time.perf_counter() - t, "cv_best": study.best_value, "best": study.best_params}))
"""

# The cross-validated accuracy scikit-learn gives a setting on the same folds: with its defaults
# (cold fits, tolerance 1e-4, 100 iterations), or with "exact" fits (tolerance 1e-9), which judge the
# setting itself rather than where an optimiser stopped.
RESCORE = r"""
import json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
warnings.filterwarnings("ignore")
read = lambda p: [l.split("\t", 1)[0] for l in open(p, encoding="utf-8").read().splitlines()[1:]]
X = np.load(sys.argv[1]).astype(np.float32); y = read(sys.argv[2])
n_fold = len(y) * 4 / 5
fits = {"tol": 1e-9, "max_iter": 20000} if sys.argv[3] == "exact" else {}
for line in sys.stdin:
    p = json.loads(line)
    model = LogisticRegression(C=1 / (p["lambda"] * n_fold), class_weight=None if p["class_weight"] == "none" else "balanced", **fits)
    print(cross_val_score(model, X, y, cv=StratifiedKFold(5), n_jobs=2).mean())
"""


def wall(cmd, env=None):
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, out.stdout


def peer_env(threads):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def best_of(repeats, cmd, env=None):
    """The fastest of `repeats` runs: (seconds, its stdout)."""
    return min((wall(cmd, env) for _ in range(repeats)), key=lambda r: r[0])


def tune(ckpt, args, threads, repeats=1):
    seconds, out = best_of(repeats, [ckpt, "tune-head", "--threads", str(threads), "--json", "--quiet", "--force"] + args)
    return seconds, json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tpe-seeds", type=int, default=10, help="TPE studies per side (seeds 0 … N − 1)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    describe(args.ckpt)
    data = ["--features", str(TRAIN), "--labels", str(TRAIN_LABELS)]
    test = ["--test-features", str(TEST), "--test-labels", str(TEST_LABELS)]
    results = {}

    # 1. Grid search.
    grid = {}
    for threads in (1, 2):
        seconds, study = tune(args.ckpt, data + test + ["--search", "grid", "--output", str(work / "grid-head"), "--no-ledger"], threads, 3)
        grid[f"ckpt_{threads}"] = {"seconds": seconds, "cv_best": study["best"]["cv_mean"], "test_accuracy": study["test"]["accuracy"]}
    for jobs in (1, 2):
        seconds, out = best_of(3, [sys.executable, "-c", GRID_PEER, str(TRAIN), str(TEST), str(TRAIN_LABELS), str(TEST_LABELS), str(jobs)],
                               env=peer_env(jobs))
        grid[f"sklearn_{jobs}"] = {"seconds": seconds, **json.loads(out)}
    best_ckpt = min((grid[k] for k in ("ckpt_1", "ckpt_2")), key=lambda r: r["seconds"])
    best_peer = min((grid[k] for k in ("sklearn_1", "sklearn_2")), key=lambda r: r["seconds"])
    best_peer_fit = min(grid[k]["fit_seconds"] for k in ("sklearn_1", "sklearn_2"))
    print(f"\n{'grid search, 9 λ × 5 folds':34} {'seconds':>8} {'CV best':>8} {'test acc':>8}")
    for k, r in grid.items():
        extra = f"  (fit alone {r['fit_seconds']:.3f} s)" if "fit_seconds" in r else ""
        print(f"{k:34} {r['seconds']:8.3f} {r['cv_best']:8.4f} {r['test_accuracy']:8.4f}{extra}")
    print(f"each at its best: ckpt {best_ckpt['seconds']:.3f} s, scikit-learn {best_peer['seconds']:.3f} s end to end "
          f"({best_peer_fit:.3f} s fit alone): {best_peer['seconds'] / best_ckpt['seconds']:.1f}× end to end, "
          f"{best_peer_fit / best_ckpt['seconds']:.1f}× against the fit alone")
    results["grid"] = grid

    # 2. TPE, 30 trials: seed 0 at each thread count, then the other seeds at each side's best.
    tpe = {}
    for threads in (1, 2):
        seconds, study = tune(args.ckpt, data + ["--search", "tpe", "--trials", "30", "--seed", "0", "--output", str(work / "tpe-head"),
                                                 "--no-ledger"], threads)
        tpe[f"ckpt_{threads}_seed0"] = {"seconds": seconds, "cv_best": study["best"]["cv_mean"], "best": study["best"]["params"]}
    for jobs in (1, 2):
        seconds, out = wall([sys.executable, "-c", TPE_PEER, str(TRAIN), str(TRAIN_LABELS), str(jobs), "30", "0"], env=peer_env(1))
        tpe[f"optuna_sklearn_{jobs}_seed0"] = {"seconds": seconds, **json.loads(out)}
    ckpt_threads = min((1, 2), key=lambda t: tpe[f"ckpt_{t}_seed0"]["seconds"])
    peer_jobs = min((1, 2), key=lambda j: tpe[f"optuna_sklearn_{j}_seed0"]["seconds"])
    for seed in range(1, args.tpe_seeds):
        seconds, study = tune(args.ckpt, data + ["--search", "tpe", "--trials", "30", "--seed", str(seed), "--output", str(work / "tpe-head"),
                                                 "--no-ledger"], ckpt_threads)
        tpe[f"ckpt_{ckpt_threads}_seed{seed}"] = {"seconds": seconds, "cv_best": study["best"]["cv_mean"], "best": study["best"]["params"]}
        seconds, out = wall([sys.executable, "-c", TPE_PEER, str(TRAIN), str(TRAIN_LABELS), str(peer_jobs), "30", str(seed)], env=peer_env(1))
        tpe[f"optuna_sklearn_{peer_jobs}_seed{seed}"] = {"seconds": seconds, **json.loads(out)}
    print(f"\n{'TPE, 30 trials, linear head':34} {'seconds':>8} {'CV best':>8}  best")
    for k, r in tpe.items():
        print(f"{k:34} {r['seconds']:8.3f} {r['cv_best']:8.4f}  {r['best']}")
    mine = [tpe[f"ckpt_{ckpt_threads}_seed{s}"] for s in range(args.tpe_seeds)]
    theirs = [tpe[f"optuna_sklearn_{peer_jobs}_seed{s}"] for s in range(args.tpe_seeds)]
    mean = lambda rows, key: sum(r[key] for r in rows) / len(rows)
    # Each side's best setting scored the same way (scikit-learn's cross_val_score, cold fits).
    for fits, key in (("default", "sklearn_cv_of_best"), ("exact", "exact_cv_of_best")):
        rescored = subprocess.run([sys.executable, "-c", RESCORE, str(TRAIN), str(TRAIN_LABELS), fits], check=True, capture_output=True,
                                  text=True, input="".join(json.dumps(r["best"]) + "\n" for r in mine + theirs)).stdout.split()
        for r, score in zip(mine + theirs, rescored):
            r[key] = float(score)
        print(f"best settings re-scored by scikit-learn's cross_val_score ({fits} fits): ckpt "
              + ", ".join(f"{r[key]:.4f}" for r in mine) + f" (mean {mean(mine, key):.4f}); Optuna "
              + ", ".join(f"{r[key]:.4f}" for r in theirs) + f" (mean {mean(theirs, key):.4f})")
    print(f"each at its best (ckpt {ckpt_threads} threads, Optuna + scikit-learn n_jobs {peer_jobs}), seeds 0-{args.tpe_seeds - 1}: "
          f"CV best {mean(mine, 'cv_best'):.4f} against {mean(theirs, 'cv_best'):.4f}, "
          f"{mean(mine, 'seconds'):.2f} s against {mean(theirs, 'seconds'):.2f} s: {mean(theirs, 'seconds') / mean(mine, 'seconds'):.1f}×")
    results["tpe"] = tpe

    # 3. Warm start: a study on one half of the rows seeds a study on the other half.
    x = np.load(TRAIN)
    lines = TRAIN_LABELS.read_text(encoding="utf-8").splitlines()
    halves = []
    for name, rows in (("first", range(0, len(x) // 2)), ("second", range(len(x) // 2, len(x)))):
        np.save(work / f"trec-{name}-half.npy", x[list(rows)])
        (work / f"trec-{name}-half.tsv").write_text("\n".join([lines[0]] + [lines[1 + r] for r in rows]) + "\n", encoding="utf-8")
        halves.append(["--features", str(work / f"trec-{name}-half.npy"), "--labels", str(work / f"trec-{name}-half.tsv")])
    with tempfile.TemporaryDirectory() as scratch:
        # The cold study goes to a ledger of its own: the warm one may learn from the first half only.
        ledger = ["--ledger", str(Path(scratch) / "ledger.sqlite")]
        search = ["--heads", "linear,knn,centroid", "--trials", "30", "--seed", "1", "--output", str(work / "warm-head")]
        tune(args.ckpt, halves[0] + search + ledger, 2)
        cold_seconds, cold = tune(args.ckpt, halves[1] + search + ["--ledger", str(Path(scratch) / "cold.sqlite")], 2)
        warm_seconds, warm = tune(args.ckpt, halves[1] + search + ledger + ["--warm-start"], 2)
    target = cold["best"]["cv_mean"] - 0.005

    def first_reaching(study):
        return next(t["number"] + 1 for t in study["trials"] if t["state"] == "complete" and t["cv_mean"] >= target)

    seeded = [t.get("seeded_by") for t in warm["trials"] if t.get("seeded_by")]
    print(f"\nwarm start (second half of TREC, 30 trials, linear/knn/centroid; seeded by {', '.join(seeded) or 'nothing'}):")
    print(f"  cold: best {cold['best']['cv_mean']:.4f}, within 0.5 points of it at trial {first_reaching(cold)} ({cold_seconds:.2f} s)")
    print(f"  warm: best {warm['best']['cv_mean']:.4f}, within 0.5 points of the cold best at trial {first_reaching(warm)} ({warm_seconds:.2f} s)")
    results["warm_start"] = {"cold_best": cold["best"]["cv_mean"], "cold_trials_to_target": first_reaching(cold),
                             "warm_best": warm["best"]["cv_mean"], "warm_trials_to_target": first_reaching(warm), "seeded_by": seeded}

    # 4. Few-shot.
    few = ["few-shot", "--features", str(TRAIN), "--labels", str(TRAIN_LABELS), "--test-features", str(TEST), "--test-labels", str(TEST_LABELS),
           "--json", "--quiet", "--no-ledger"]
    seconds, out = wall([args.ckpt] + few + ["--threads", "2"])
    ckpt_few = json.loads(out)
    sys.path.insert(0, str(ROOT / "tools"))
    import make_workbench_fixtures as reference  # noqa: E402
    start = time.perf_counter()
    xs, ts = np.load(TRAIN).astype(np.float32), np.load(TEST).astype(np.float32)
    y, yt = reference.read_labels(TRAIN_LABELS), reference.read_labels(TEST_LABELS)
    peer = reference.protocol(reference.ckpt_samples(y, 8, 10, 42), xs, y, ts, yt)
    peer_seconds = time.perf_counter() - start
    print(f"\nfew-shot, 8 shots × 10 repeats: ckpt {seconds:.3f} s (whole process), scikit-learn + NumPy {peer_seconds:.3f} s (in process): "
          f"{peer_seconds / seconds:.1f}×")
    for head in ("linear", "centroid", "knn"):
        print(f"  {head:9} ckpt {100 * ckpt_few['heads'][head]['accuracy_mean']:.2f}  reference {100 * np.mean(peer[head]['accuracy']):.2f}")
    curve = {}
    for shots in (1, 2, 4, 8, 16):
        curve[shots] = json.loads(wall([args.ckpt] + few + ["--shots", str(shots)])[1])["heads"]
    print("\nfew-shot curve (accuracy mean ± std over 10 repeats, %):")
    print("shots  " + "  ".join(f"{h:>13}" for h in ("linear", "centroid", "knn")))
    for shots, heads in curve.items():
        print(f"{shots:5}  " + "  ".join(f"{100 * heads[h]['accuracy_mean']:6.2f} ± {100 * heads[h]['accuracy_std']:4.2f}" for h in ("linear", "centroid", "knn")))
    results["few_shot"] = {"ckpt_seconds": seconds, "reference_seconds": peer_seconds, "curve": curve}
    (work / "workbench.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
