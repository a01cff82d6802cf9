#!/usr/bin/env python3
"""Tokenizer throughput: ckpt against Hugging Face tokenizers (WordPiece and GPT-2 BPE) and tiktoken
(GPT-2, at its best route: a per-line encode_ordinary loop or encode_batch, whichever is faster; the
route is printed), on the same ≥10 MB of real text, at 1 and 2 threads, in one run. "ckpt" makes
full encodings (ids, type ids, offsets, masks), as HF tokenizers' encode_batch does; "ids" is
ckpt's ids-only route (`encodeIDsBatch`), which is what tiktoken's routes return, and the one its
ratio uses. Each side times batch
encoding only (loading and reading excluded), best of --repeats: the file's lines as one batch (the
way a dataset is tokenized), and the whole file as one document (the engines' raw speed, without the
per-line cost of the Python APIs).

    python tools/bench/tokenizers.py --ckpt .build/release/ckpt --work .cache/bench
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from machine import real_text

ROOT = Path(__file__).resolve().parent.parent.parent
FIX = ROOT / "fixtures" / "tokenizers"

PEER = r"""
import json, sys, time
kind, path, threads, repeats, whole = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[6] == "whole"
raw = open(path, "rb").read()
lines = [l.rstrip(b"\r").decode("utf-8", "replace") for l in raw.split(b"\n")]
if lines and lines[-1] == "": lines.pop()
if whole: lines = [raw.decode("utf-8", "replace")]
if kind == "tiktoken":
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    enc = tiktoken.Encoding(name="gpt2", pat_str=r"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
                            mergeable_ranks=load_tiktoken_bpe(sys.argv[5]), special_tokens={"<|endoftext|>": 50256})
    # tiktoken's best route: a plain per-line encode_ordinary loop (on lines, far faster than
    # encode_batch's thread pool), or encode_batch at the thread count; the faster is kept below.
    routes = {"encode_ordinary loop": lambda: [enc.encode_ordinary(l) for l in lines],
              "encode_batch": lambda: enc.encode_batch(lines, num_threads=threads, allowed_special="all")}
    count = lambda out: sum(len(x) for x in out)
else:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(sys.argv[5])
    tok.no_padding(); tok.no_truncation()
    routes = {"encode_batch": lambda: tok.encode_batch(lines)}
    count = lambda out: sum(len(e.ids) for e in out)
results = []
for route, run in routes.items():
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter(); out = run(); best = min(best, time.perf_counter() - t)
    results.append({"seconds": best, "bytes": len(raw), "tokens": count(out), "route": route})
print(json.dumps(min(results, key=lambda r: r["seconds"])))
"""


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    text = real_text(work)
    mb = text.stat().st_size / 1e6
    print(f"# {mb:.1f} MB of real text ({sum(1 for _ in open(text, encoding='utf-8'))} lines), best of {args.repeats}")
    print(f"{'tokenizer':10} {'input':>6} {'threads':>7} {'ckpt MB/s':>10} {'ids MB/s':>9} {'HF MB/s':>9} {'tiktoken MB/s':>14} {'vs HF':>7} "
          f"{'ids vs tiktoken':>16}")
    rows = []
    for name, ckpt_file, hf_file in [("WordPiece", FIX / "minilm" / "tokenizer.json", FIX / "minilm" / "tokenizer.json"),
                                     ("GPT-2 BPE", FIX / "gpt2" / "tokenizer.json", FIX / "gpt2" / "tokenizer.json")]:
        # Line batches at 1 and 2 threads, then the whole file as one document (one thread).
        for threads, mode in [(1, "lines"), (2, "lines"), (1, "whole")]:
            c = run_json([args.ckpt, "bench-tokenize", "--tokenizer", str(ckpt_file), "--threads", str(threads),
                          "--repeats", str(args.repeats), str(text)] + (["--whole"] if mode == "whole" else []))
            env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
            h = run_json([sys.executable, "-c", PEER, "hf", str(text), str(threads), str(args.repeats), str(hf_file), mode], env)
            t = None
            if name == "GPT-2 BPE":
                t = run_json([sys.executable, "-c", PEER, "tiktoken", str(text), str(threads), str(args.repeats),
                              str(FIX / "gpt2" / "gpt2.tiktoken"), mode])
            # Ids alone, as tiktoken's encode_ordinary gives them (ckpt's encodeIDsBatch): the fair match for tiktoken.
            i = run_json([args.ckpt, "bench-tokenize", "--tokenizer", str(ckpt_file), "--threads", str(threads), "--ids",
                          "--repeats", str(args.repeats), str(text)] + (["--whole"] if mode == "whole" else [])) if t else None
            assert c["tokens"] == h["tokens"] and (t is None or t["tokens"] == c["tokens"] == i["tokens"]), (c, h, t, i)
            speed = lambda r: r["bytes"] / r["seconds"] / 1e6
            row = dict(tokenizer=name, threads=threads, mode=mode, ckpt=speed(c), hf=speed(h), tiktoken=speed(t) if t else None,
                       ckpt_ids=speed(i) if i else None, tiktoken_route=t["route"] if t else None)
            rows.append(row)
            tk = f"{row['tiktoken']:14.1f}" if t else f"{'-':>14}"
            vs_tk = f"{row['ckpt_ids'] / row['tiktoken']:11.2f}x" if t else f"{'-':>12}"
            ids = f"{row['ckpt_ids']:9.1f}" if i else f"{'-':>9}"
            print(f"{name:10} {mode:>6} {threads:7} {row['ckpt']:10.1f} {ids} {row['hf']:9.1f} {tk} {row['ckpt'] / row['hf']:6.2f}x {vs_tk}"
                  + (f"  (tiktoken: {t['route']})" if t else ""))
    (work / "tokenizers.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
