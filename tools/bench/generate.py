#!/usr/bin/env python3
"""GPT-2 decoding and prefill: ckpt against transformers (PyTorch), on the 124M shape, in one run.

The model is the full GPT-2 124M shape with random weights (tools/make_gpt2_fixtures.py --bench; no
real GPT-2 weights can be downloaded here), made on first use. Both sides take the same tokens from
the TREC test questions: decode = greedy generation of 128 new tokens after a 16-token prompt
(tokens/s over the whole call, best of 3; the generated ids must agree); prefill = one forward pass
over a 512-token prompt giving the next token's logits (transformers' generate asks for the last
position only: logits_to_keep=1), best of 3. At 1 and 2 threads (torch.set_num_threads for the peer).
The peer runs in f32 and, on CPUs with native bf16 products, on its two bf16 routes (autocast, and
the weights in bf16: see machine.BF16_ROUTES); "vs bf16" is against the faster of them.

ckpt's `bench-generate` also measures the machine's memory read bandwidth (streaming 1 GiB with the
same threads) and the decode bound it sets: bandwidth ÷ f32 weight bytes read per token (the tied
wte counted as the output projection).

This machine's speed drifts by ±25 % from minute to minute (it is a shared VM), so the two sides
alternate, process after process, for `--rounds` rounds (default 3), and each speed — ckpt's,
PyTorch's — is the best of its rounds. The memory bandwidth moves the most (it ranged 42–59 GB/s
between processes a minute apart on an AMD EPYC VM), so a decode is held against the bound measured
in its own round (by the ckpt process of that round), and the share printed is the median of the
rounds' shares; the GB/s and bound columns are the median round's.

    python tools/bench/generate.py --ckpt .build/release/ckpt --model .cache/models/gpt2-124m
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from machine import describe, fastest, rate, ratio, torch_routes

ROOT = Path(__file__).resolve().parent.parent.parent
TEXT = ROOT / "fixtures" / "data" / "trec-test.tsv"

PEER = r"""
import json, sys, time, torch
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel
model_dir, text_path, threads, route = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(threads)
text = "\n".join(open(text_path, encoding="utf-8").read().splitlines())
ids = Tokenizer.from_file(model_dir + "/tokenizer.json").encode(text).ids
model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
if route == "bf16-weights": model = model.to(torch.bfloat16)
def best(f, repeats=3):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter(); result = f(); times.append(time.perf_counter() - t)
    return min(times), result
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=route == "bf16-autocast"):
    prompt = torch.tensor([ids[:16]])
    seconds, out = best(lambda: model.generate(prompt, do_sample=False, max_new_tokens=128, pad_token_id=50256))
    new = out[0, 16:].tolist()
    long = torch.tensor([ids[:512]])
    prefill, _ = best(lambda: model(long, logits_to_keep=1, use_cache=True).logits)
print(json.dumps({"decode_tokens_per_second": len(new) / seconds, "prefill_tokens_per_second": 512 / prefill, "ids": new}))
"""


def best_of(results):
    """The largest of each figure over the rounds (the ids are compared round by round, not here)."""
    results = list(results)
    return {key: max(r[key] for r in results) for key in results[0] if key != "ids"}


def shares_of_bound(rounds, side):
    """Each round's decode (ckpt's when side is 0, the peer's when 1) over the bound that round's ckpt process measured."""
    return [r[side]["decode_tokens_per_second"] * r[0]["weight_bytes_per_token"] / r[0]["bandwidth_bytes_per_second"] for r in rounds]


def id_agreement(rounds):
    """Whether every round of both sides generated the ids of ckpt's first round, and if not, where one first differs."""
    reference = rounds[0][0]["ids"]
    for result in (side for pair in rounds for side in pair):
        if result["ids"] != reference:
            first = next((i for i, (a, b) in enumerate(zip(reference, result["ids"])) if a != b), min(len(reference), len(result["ids"])))
            return f"IDS DIFFER after {first}"
    return "same ids"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (Path(args.model) / "model.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "make_gpt2_fixtures.py"), "--bench", args.model], check=True,
                       capture_output=True)
    system, f32 = describe(args.ckpt)
    routes = torch_routes(system)
    print(f"{'GPT-2 124M (random init)':26} {'thr':>3} {'ckpt tok/s':>10} {'torch f32':>9} {'torch bf16':>10} {'(route)':>13} {'vs f32':>6} "
          f"{'vs bf16':>7} {'GB/s':>5} {'bound':>6} {'ckpt/bound':>10} {'f32/bound':>9}")
    rows = []
    for threads in (1, 2):
        def peer(route):
            return json.loads(subprocess.run([sys.executable, "-c", PEER, args.model, str(TEXT), str(threads), route], check=True,
                                             capture_output=True, text=True).stdout)
        rounds = [(json.loads(subprocess.run([args.ckpt, "bench-generate", "--model", args.model, "--threads", str(threads), str(TEXT)],
                                             check=True, capture_output=True, text=True).stdout), *(peer(route) for route in routes))
                  for _ in range(args.rounds)]
        c = best_of(r[0] for r in rounds)
        peers = {route: best_of(r[1 + i] for r in rounds) for i, route in enumerate(routes)}
        p = peers["f32"]
        bandwidth = statistics.median(r[0]["bandwidth_bytes_per_second"] for r in rounds)
        bound = bandwidth / c["weight_bytes_per_token"]
        ckpt_share, peer_share = (statistics.median(shares_of_bound(rounds, side)) for side in (0, 1))
        same = id_agreement([(r[0], r[1]) for r in rounds])
        row = dict(threads=threads, cpu=system["cpu"]["model"], engine=f32["engine"], bound=bound, ids=same)
        for figure, label, spec in (("decode_tokens_per_second", "decode 16 + 128 greedy", ".1f"),
                                    ("prefill_tokens_per_second", "prefill 512 tokens", ".0f")):
            ours, theirs = c[figure], p[figure]
            bf16_route, bf16_rate = fastest({route: peers[route][figure] for route in routes})
            line = (f"{label:26} {threads:3} {ours:10{spec}} {theirs:9{spec}} {rate(bf16_rate, 10, spec)} {bf16_route or '':>13} "
                    f"{ours / theirs:5.2f}x {ratio(ours, bf16_rate)}")
            if figure.startswith("decode"):
                line += (f" {bandwidth / 1e9:5.1f} {bound:6.1f} {ckpt_share:10.0%} {peer_share:9.0%}  f32 {same} "
                         f"({len(rounds[0][0]['ids'])} tokens)")
            print(line)
            if len(routes) > 1:
                print(f"{'':30} every route: " + ", ".join(f"torch {route} {peers[route][figure]:{spec}}" for route in routes))
            kind = figure.split("_")[0]
            row.update({kind: ours, f"{kind}_torch": {route: peers[route][figure] for route in routes},
                        f"{kind}_torch_bf16": bf16_rate, f"{kind}_torch_bf16_route": bf16_route})
        row["decode_share_of_bound"] = ckpt_share
        rows.append(row)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
