#!/usr/bin/env python3
"""Sentence features: ckpt against sentence-transformers (PyTorch, same thread count, same batch
size 32) on the real all-MiniLM-L6-v2, in one run: 2,000 real sentences (two TREC questions each,
~24 tokens) and 512 inputs of 128 tokens (standard-library text, truncated at 128), at 1 and 2
threads. The peer runs each of its routes: f32, and its two bf16 routes (autocast, and the weights in
bf16: see machine.BF16_ROUTES), its fastest on CPUs with AVX512-BF16 or AMX; not timed on CPUs without
native bf16, where it is emulated and far slower than f32. Ratios are against f32, against the faster
bf16 route and against the fastest of all.
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

from machine import describe, fastest, rate, ratio, real_text, run_with_peak_rss, torch_routes

ROOT = Path(__file__).resolve().parent.parent.parent

PEER = r"""
import json, sys, time, torch
from sentence_transformers import SentenceTransformer
model_dir, path, threads, max_length, route = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)
model = SentenceTransformer(model_dir, device="cpu")
if max_length: model.max_seq_length = max_length
if route == "bf16-weights": model = model.to(torch.bfloat16)
texts = open(path, encoding="utf-8").read().splitlines()
best = float("inf")
for _ in range(2):
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=route == "bf16-autocast"):
        model.encode(texts, batch_size=32)
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "texts": len(texts)}))
"""


def inputs(work):
    work.mkdir(parents=True, exist_ok=True)
    trec = [l.split("\t", 1)[1] for l in (ROOT / "fixtures" / "data" / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    short = work / "embed-short.txt"
    short.write_text("\n".join(trec[2 * i] + " " + trec[2 * i + 1] for i in range(2000)) + "\n", encoding="utf-8")
    words = real_text(work).read_text(encoding="utf-8").split()
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
    system, f32 = describe(args.ckpt)
    routes = torch_routes(system)
    print(f"{'workload':30} {'thr':>3} {'ckpt/s':>8} {'ST f32/s':>9} {'ST bf16/s':>9} {'(route)':>13} {'vs f32':>6} {'vs bf16':>7} "
          f"{'vs best':>7} {'ckpt RSS':>9} {'ST RSS':>8} {'ckpt % peak':>12}")
    rows = []
    for label, path, max_length in inputs(work):
        for threads in (1, 2):
            cmd = [args.ckpt, "bench-embed", "--model", args.model, "--threads", str(threads), str(path)]
            if max_length:
                cmd += ["--max-length", str(max_length)]
            def peer(route):
                return timed([sys.executable, "-c", PEER, args.model, str(path), str(threads), str(max_length), route])
            rounds = [(timed(cmd), {route: peer(route) for route in routes}) for _ in range(args.rounds)]
            c = min((r[0][0] for r in rounds), key=lambda result: result["seconds"])
            peer_rates = {route: max(r[1][route][0]["texts"] / r[1][route][0]["seconds"] for r in rounds) for route in routes}
            bf16_route, bf16_rate = fastest(peer_rates)
            c_rss = max(r[0][1] for r in rounds)
            p_rss = max(result[1] for r in rounds for result in r[1].values())
            row = dict(workload=label, threads=threads, cpu=system["cpu"]["model"], engine=f32["engine"],
                       ckpt=c["texts"] / c["seconds"], st=peer_rates, st_f32=peer_rates["f32"], st_bf16=bf16_rate, st_bf16_route=bf16_route,
                       ckpt_rss_mb=c_rss / 1e6, st_rss_mb=p_rss / 1e6, ckpt_peak_fraction=c["gflops"] / c["peak_gflops"],
                       peak_gflops=c["peak_gflops"], best_peak_gflops=c["best_peak_gflops"], ckpt_gflops=c["gflops"])
            rows.append(row)
            best = max(peer_rates.values())
            print(f"{label:30} {threads:3} {row['ckpt']:8.1f} {row['st_f32']:9.1f} {rate(bf16_rate, 9, '.1f')} {bf16_route or '':>13} "
                  f"{row['ckpt'] / row['st_f32']:5.2f}x {ratio(row['ckpt'], bf16_rate)} {row['ckpt'] / best:6.2f}x "
                  f"{row['ckpt_rss_mb']:7.0f}MB {row['st_rss_mb']:6.0f}MB {100 * row['ckpt_peak_fraction']:10.0f}% "
                  f"(of {row['peak_gflops']:.0f} GFLOP/s median; {100 * row['ckpt_gflops'] / row['best_peak_gflops']:.0f}% of the best, "
                  f"{row['best_peak_gflops']:.0f})")
            if len(routes) > 1:
                print(f"{'':34} every route, texts/s: " + ", ".join(f"ST {route} {value:.1f}" for route, value in peer_rates.items()))
    (work / "embed.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
