#!/usr/bin/env python3
"""What bf16 and int8 gain, at 2 threads, against the peers' own reduced-precision routes, in one run.

MiniLM features (the inputs of embed.py: 2,000 TREC sentence pairs of ~24 tokens, and 512 inputs of
128 tokens): ckpt in f32, bf16 and int8 (`bench-embed --precision`), against sentence-transformers
on PyTorch's two bf16 routes, autocast and the weights in bf16 (machine.BF16_ROUTES; timed only where
the CPU has native bf16 products; ckpt's bf16 is held against the faster), and ONNX Runtime's two
int8 routes (`quantize_dynamic`, per-channel s8 weights, on the plain and the fused graph; see
tools/onnx_minilm.py; ckpt's int8 is held against the faster), batch size 32 on every
side. ckpt's achieved rate is divided by its engine's measured peak for the same precision
(`EngineRate`, as `ckpt system --measure` prints it): the median of the samples taken before and
after the workload, and the best of them. The machine's speed drifts, so the fastest pass of the
workload can meet a median taken in a slow moment and pass 100 %; the best sample gives the
conservative share. The vector multiply-add peak of the precision
(`VectorPeak`: the instructions on registers alone) bounds any route: the model's FLOPs at that rate
give the most texts/s this CPU could reach, printed next to what the issue's targets (bf16 2× the
PyTorch peer, int8 3× ONNX Runtime) ask for.

GPT-2 124M shape (random weights): decode (128 greedy tokens after 16) and prefill (512 tokens) in
each precision (`bench-generate --precision`), against transformers' decode and prefill on the same
two bf16 routes.

Peak RSS: `ckpt embed` of the short set and `ckpt generate` of 16 tokens, per precision.

The machine drifts by ±25 % from minute to minute (its memory bandwidth by half from one second to
the next), so the sides alternate for `--rounds` rounds and each figure is its best round; and the
decode rates are compared in one process (`bench-decode-precisions`), the precisions a step each in
turn for `--decode-rounds` generations.

    python tools/bench/precision.py --ckpt .build/release/ckpt --minilm .cache/models/all-MiniLM-L6-v2 \
        --gpt2 .cache/models/gpt2-124m --work .cache/bench
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from embed import PEER as ST_PEER, inputs, timed
from generate import PEER as HF_PEER
from machine import describe, fastest, rate as figure, ratio, run_with_peak_rss, torch_routes

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from onnx_minilm import ROUTES as ORT_ROUTES  # noqa: E402 (tools/ is on the path only from here)
THREADS = 2

ORT_PEER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[5])
import onnx_minilm
model_dir, path, threads, max_length, tools, work, route = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:8]
encoder = onnx_minilm.OrtEncoder(onnx_minilm.export_int8(model_dir, work, route), model_dir, threads, max_length=max_length or 256)
texts = open(path, encoding="utf-8").read().splitlines()
best = float("inf")
for _ in range(2):
    t = time.perf_counter()
    encoder.encode(texts, batch_size=32)
    best = min(best, time.perf_counter() - t)
print(json.dumps({"seconds": best, "texts": len(texts)}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--gpt2", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--decode-rounds", type=int, default=5, help="generations of each precision in the interleaved decode")
    args = ap.parse_args()
    work = Path(args.work)
    system, _ = describe(args.ckpt)
    bf16_routes = torch_routes(system)[1:]
    report = {"cpu": system["cpu"]["model"], "threads": THREADS, "features": [], "gpt2": {}, "rss_mb": {}}

    print(f"{'workload':30} {'route':20} {'texts/s':>9} {'vs peer':>8} {'% of peak':>10}")
    for label, path, max_length in inputs(work):
        def ckpt(precision):
            cmd = [args.ckpt, "bench-embed", "--model", args.minilm, "--threads", str(THREADS), "--precision", precision, str(path)]
            return timed(cmd + (["--max-length", str(max_length)] if max_length else []))[0]

        def st(route):
            return timed([sys.executable, "-c", ST_PEER, args.minilm, str(path), str(THREADS), str(max_length), route])[0]

        def ort(route):
            return timed([sys.executable, "-c", ORT_PEER, args.minilm, str(path), str(THREADS), str(max_length), str(ROOT / "tools"),
                          str(work / "onnx"), route])[0]

        rounds = [{"f32": ckpt("f32"), "bf16": ckpt("bf16"), "int8": ckpt("int8"), **{"ORT " + route: ort(route) for route in ORT_ROUTES},
                   **{route: st(route) for route in bf16_routes}} for _ in range(args.rounds)]
        best = {k: min((r[k] for r in rounds), key=lambda x: x["seconds"]) for k in rounds[0]}
        rate = {k: v["texts"] / v["seconds"] for k, v in best.items()}
        peers = {"f32": None, "bf16": fastest(rate)[0], "int8": fastest(rate, ["ORT " + route for route in ORT_ROUTES])[0]}
        targets = {"f32": None, "bf16": 2, "int8": 3}
        for precision in ("f32", "bf16", "int8"):
            r = best[precision]
            peer = peers[precision]
            # Any route's ceiling: the workload's FLOPs at the vector peak (or at the engine's own
            # peak where that is higher, as AMX tiles are). The hardware's peak is one number, so the
            # best of the rounds: a round's sample can fall in a slow moment of the VM.
            ceiling_gflops = max(max(q[precision]["vector_peak_gflops"] or 0, q[precision]["best_peak_gflops"]) for q in rounds)
            row = {"workload": label, "precision": precision, "texts_per_second": rate[precision],
                   "peer": peer, "peer_texts_per_second": rate[peer] if peer else None,
                   "peak_fraction": r["gflops"] / r["peak_gflops"], "peak_gflops": r["peak_gflops"],
                   "best_peak_fraction": r["gflops"] / r["best_peak_gflops"],
                   "ceiling_gflops": ceiling_gflops,
                   "ceiling_texts_per_second": r["texts"] * ceiling_gflops / r["model_gflop"],
                   "target_texts_per_second": targets[precision] * rate[peer] if peer else None}
            report["features"].append(row)
            versus = f"{rate[precision] / rate[peer]:7.2f}x" if peer else " " * 8
            target = f", target {row['target_texts_per_second']:.0f}: {targets[precision]}x {peer}" if peer else ""
            print(f"{label:30} {'ckpt ' + precision:20} {rate[precision]:9.1f} {versus} {100 * row['peak_fraction']:9.0f}% "
                  f"(of {r['peak_gflops']:.0f} GFLOP/s median, {100 * r['gflops'] / r['best_peak_gflops']:.0f}% of the best, "
                  f"{r['best_peak_gflops']:.0f}; ceiling {row['ceiling_texts_per_second']:.0f} texts/s at "
                  f"{ceiling_gflops:.0f}{target})")
        for route in bf16_routes:
            print(f"{label:30} {'ST ' + route:20} {rate[route]:9.1f}")
        for route in ORT_ROUTES:
            print(f"{label:30} {'ORT ' + route:20} {rate['ORT ' + route]:9.1f}")

    text = ROOT / "fixtures" / "data" / "trec-test.tsv"
    runs = []
    for _ in range(args.rounds):
        round_ = {p: json.loads(subprocess.run([args.ckpt, "bench-generate", "--model", args.gpt2, "--threads", str(THREADS), "--precision", p,
                                                str(text)], check=True, capture_output=True, text=True).stdout) for p in ("f32", "bf16", "int8")}
        for route in bf16_routes:
            round_["torch " + route] = json.loads(subprocess.run([sys.executable, "-c", HF_PEER, args.gpt2, str(text), str(THREADS), route],
                                                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        runs.append(round_)
    gpt2 = {k: {m: max(r[k][m] for r in runs if k in r) for m in ("decode_tokens_per_second", "prefill_tokens_per_second")} for k in runs[0]}
    # The precisions' decoding a step each in turn in one process: the machine's drift falls on all alike.
    interleaved = json.loads(subprocess.run([args.ckpt, "bench-decode-precisions", "--model", args.gpt2, "--threads", str(THREADS),
                                             "--rounds", str(args.decode_rounds), str(text)], check=True, capture_output=True, text=True).stdout)
    for p, tokens_per_second in interleaved["decode_tokens_per_second"].items():
        gpt2[p]["decode_interleaved_tokens_per_second"] = tokens_per_second
    report["gpt2"] = gpt2
    def torch_best(measure):
        """The faster PyTorch bf16 route's figure for `measure`, or None where none was timed."""
        return fastest({route: gpt2["torch " + route][measure] for route in bf16_routes})[1]

    torch_decode, torch_prefill = torch_best("decode_tokens_per_second"), torch_best("prefill_tokens_per_second")
    report["gpt2_torch_bf16_best"] = {"decode_tokens_per_second": torch_decode, "prefill_tokens_per_second": torch_prefill}
    print(f"\n{'GPT-2 124M':24} {'decode tok/s':>12} {'interleaved':>12} {'vs f32':>7} {'vs torch bf16':>14} {'prefill tok/s':>14} "
          f"{'vs torch bf16':>14}")
    for k, v in gpt2.items():
        together = v.get("decode_interleaved_tokens_per_second")
        versus = ratio(together, gpt2["f32"]["decode_interleaved_tokens_per_second"]) if together else figure(None, 7, "")
        print(f"{k:24} {v['decode_tokens_per_second']:12.1f} {figure(together, 12, '.1f')} {versus} "
              f"{ratio(v['decode_tokens_per_second'], torch_decode, 14)} "
              f"{v['prefill_tokens_per_second']:14.0f} {ratio(v['prefill_tokens_per_second'], torch_prefill, 14)}")
    print(f"decode tok/s: best of {args.rounds} processes per precision; interleaved: the three in one process, a step of each in turn, "
          f"{args.decode_rounds} × 128 tokens")

    short = inputs(work)[0][1]
    for precision in ("f32", "bf16", "int8"):
        report["rss_mb"][precision] = {
            "embed": run_with_peak_rss([args.ckpt, "embed", "--model", args.minilm, "--precision", precision, "--threads", str(THREADS),
                               "--output", str(work / "rss.npy"), "--force", "--quiet", str(short)])[1] / 1e6,
            "generate": run_with_peak_rss([args.ckpt, "generate", "--model", args.gpt2, "--precision", precision, "--threads", str(THREADS),
                                  "--prompt", "The", "--max-new-tokens", "16", "--quiet"])[1] / 1e6}
    print("\npeak RSS, MB: " + ", ".join(f"{p}: embed {r['embed']:.0f}, generate {r['generate']:.0f}" for p, r in report["rss_mb"].items()))
    (work / "precision.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
