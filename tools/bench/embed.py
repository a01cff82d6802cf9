#!/usr/bin/env python3
"""Sentence features: ckpt against sentence-transformers (PyTorch, same thread count, same batch
size 32) on the real all-MiniLM-L6-v2, in one run: 2,000 real sentences (two TREC questions each,
~24 tokens) and 512 inputs of 128 tokens (standard-library text, truncated at 128), at 1 and 2
threads. The peer runs both of its routes: f32, and bf16 autocast (`torch.autocast("cpu",
dtype=torch.bfloat16)`, its fastest on CPUs with AVX512-BF16 or AMX; not timed on CPUs without native
bf16, where it is emulated and far slower than f32); ratios are against each and against the faster.
Prints texts/s, peak RSS, and ckpt's achieved matrix-product rate as a fraction of its engine's f32
peak on MiniLM's products (`EngineRate`, the figure `ckpt system --measure` prints: the median of
runs before and after the workload; the fraction of the best run is printed too). The header names the CPU and the engine.

This machine's speed drifts by ±25 % from minute to minute (a shared VM), so the two sides
alternate, process after process, for `--rounds` rounds (default 2); each side's figure is its
best round (for ckpt, with that round's product rates), and peak RSS the largest.

    python tools/bench/embed.py --ckpt .build/release/ckpt --model .cache/models/all-MiniLM-L6-v2 --work .cache/bench
"""
import argparse
import json
import sys
from pathlib import Path

from machine import describe, peer_runs_bf16, rate, ratio, run_with_peak_rss

ROOT = Path(__file__).resolve().parent.parent.parent

PEER = r"""
import json, sys, time, torch
from sentence_transformers import SentenceTransformer
model_dir, path, threads, max_length, precision = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
model = SentenceTransformer(model_dir, device="cpu")
if max_length: model.max_seq_length = max_length
texts = open(path, encoding="utf-8").read().splitlines()
best = float("inf")
for _ in range(2):
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        model.encode(texts, batch_size=32)
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "texts": len(texts)}))
"""


def inputs(work):
    trec = [l.split("\t", 1)[1] for l in (ROOT / "fixtures" / "data" / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    short = work / "embed-short.txt"
    short.write_text("\n".join(trec[2 * i] + " " + trec[2 * i + 1] for i in range(2000)) + "\n", encoding="utf-8")
    words = (work / "real-text.txt").read_text(encoding="utf-8").split()
    long = work / "embed-long.txt"
    long.write_text("\n".join(" ".join(words[i * 200:(i + 1) * 200]) for i in range(512)) + "\n", encoding="utf-8")
    return [("2,000 sentences (~24 tokens)", short, 0), ("512 inputs × 128 tokens", long, 128)]


def timed(cmd):
    """The JSON object `cmd` prints last, and its peak RSS."""
    stdout, rss = run_with_peak_rss(cmd)
    return json.loads(stdout.strip().splitlines()[-1]), rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = Path(args.work)
    if not (work / "real-text.txt").exists():
        sys.exit("run tools/bench/tokenizers.py first (it writes real-text.txt)")
    system, f32 = describe(args.ckpt)
    bf16 = peer_runs_bf16(system)
    print(f"{'workload':30} {'thr':>3} {'ckpt/s':>8} {'ST f32/s':>9} {'ST bf16/s':>9} {'vs f32':>6} {'vs bf16':>7} {'vs best':>7} "
          f"{'ckpt RSS':>9} {'ST RSS':>8} {'ckpt % peak':>12}")
    rows = []
    for label, path, max_length in inputs(work):
        for threads in (1, 2):
            cmd = [args.ckpt, "bench-embed", "--model", args.model, "--threads", str(threads), str(path)]
            if max_length:
                cmd += ["--max-length", str(max_length)]
            def peer(precision):
                return timed([sys.executable, "-c", PEER, args.model, str(path), str(threads), str(max_length), precision])
            rounds = [(timed(cmd), peer("f32"), peer("bf16") if bf16 else None) for _ in range(args.rounds)]
            c = min((r[0][0] for r in rounds), key=lambda result: result["seconds"])
            p32 = min((r[1][0] for r in rounds), key=lambda result: result["seconds"])
            p16 = min((r[2][0] for r in rounds), key=lambda result: result["seconds"]) if bf16 else None
            c_rss, p_rss = max(r[0][1] for r in rounds), max(max(r[1][1], r[2][1] if bf16 else 0) for r in rounds)
            row = dict(workload=label, threads=threads, cpu=system["cpu"]["model"], engine=f32["engine"],
                       ckpt=c["texts"] / c["seconds"], st_f32=p32["texts"] / p32["seconds"],
                       st_bf16=p16["texts"] / p16["seconds"] if bf16 else None,
                       ckpt_rss_mb=c_rss / 1e6, st_rss_mb=p_rss / 1e6, ckpt_peak_fraction=c["gflops"] / c["peak_gflops"],
                       peak_gflops=c["peak_gflops"], best_peak_gflops=c["best_peak_gflops"], ckpt_gflops=c["gflops"])
            rows.append(row)
            best = max(row["st_f32"], row["st_bf16"] or 0)
            print(f"{label:30} {threads:3} {row['ckpt']:8.1f} {row['st_f32']:9.1f} {rate(row['st_bf16'], 9, '.1f')} "
                  f"{row['ckpt'] / row['st_f32']:5.2f}x {ratio(row['ckpt'], row['st_bf16'])} {row['ckpt'] / best:6.2f}x "
                  f"{row['ckpt_rss_mb']:7.0f}MB {row['st_rss_mb']:6.0f}MB {100 * row['ckpt_peak_fraction']:10.0f}% "
                  f"(of {row['peak_gflops']:.0f} GFLOP/s median; {100 * row['ckpt_gflops'] / row['best_peak_gflops']:.0f}% of the best, "
                  f"{row['best_peak_gflops']:.0f})")
    (work / "embed.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
