#!/usr/bin/env python3
"""What each precision costs, measured against the reference stack (issue: bf16 and int8).

For ckpt's f32, bf16 and int8 routes, and the peers' own reduced-precision routes (through
sentence-transformers, PyTorch's two bf16 routes: autocast, and the weights in bf16; ONNX Runtime's
`quantize_dynamic` int8 on the plain and on the fused graph, tools/onnx_minilm.py):

1. Feature fidelity: the worst and mean cosine of each route's MiniLM features to
   sentence-transformers f32 over the parity sentence set (fixtures/minilm/sentences.jsonl: 240
   varied sentences, some past 256 tokens; its f32 features are fixtures/minilm/embeddings.npy),
   and over 256 inputs of 128 tokens (runs of 14 TREC training questions, cut at 128 tokens by
   every route), where attention runs over more than 64 keys.
2. A similarity task built from the bundled data: 3,000 seeded pairs of TREC test questions, half
   of the same class and half of different ones, scored 1 or 0; each route's Spearman (×100)
   between cosine similarity and that score, STS-B style.
3. GPT-2 (the 124M-shape model of tools/make_gpt2_fixtures.py --bench: random weights, as no real
   GPT-2 weights are available here) perplexity on a text corpus (this repository's README and
   BENCHMARKS prose), and its drift from f32; and over 20 prompts, how many greedy tokens each
   precision produces before its first divergence from f32 (of 64).

    python tools/fidelity.py --ckpt .build/release/ckpt --minilm .cache/models/all-MiniLM-L6-v2 \
        --gpt2 .cache/models/gpt2-124m --work .cache/bench

Writes work/fidelity.json and prints a table for BENCHMARKS.md.
"""
import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
PRECISIONS = ["f32", "bf16", "int8"]


def ckpt(args, *command, stdin=None):
    return subprocess.run([args.ckpt, *command], check=True, capture_output=True, text=True, input=stdin).stdout


def ckpt_features(args, texts, precision, path, max_length=None):
    source = path.with_suffix(".jsonl")  # texts may hold line breaks
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    limit = ["--max-length", str(max_length)] if max_length else []
    ckpt(args, "embed", "--model", args.minilm, "--precision", precision, *limit, "--output", str(path), "--force", "--quiet", str(source))
    return np.load(path)


def peer_features(args, texts, max_length=None):
    """sentence-transformers f32, under bf16 autocast and with its weights in bf16, and ONNX Runtime's
    two int8 routes (each cutting inputs at max_length tokens, or at the model's 256)."""
    import torch
    from sentence_transformers import SentenceTransformer
    import onnx_minilm

    model = SentenceTransformer(args.minilm, device="cpu")
    model.max_seq_length = max_length or model.max_seq_length
    out = {"ST f32": model.encode(texts, batch_size=32, normalize_embeddings=True)}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out["PyTorch bf16 autocast"] = model.encode(texts, batch_size=32, normalize_embeddings=True)
    out["PyTorch bf16 weights"] = model.to(torch.bfloat16).encode(texts, batch_size=32, normalize_embeddings=True)
    for route in onnx_minilm.ROUTES:
        encoder = onnx_minilm.OrtEncoder(onnx_minilm.export_int8(args.minilm, Path(args.work) / "onnx", route), args.minilm, threads=2,
                                         max_length=max_length or 256)
        out["ONNX Runtime " + route] = encoder.encode(texts)
    return {name: np.asarray(v, dtype=np.float32) for name, v in out.items()}


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def similarity_pairs(count=3000, seed=0):
    rows = [l.split("\t", 1) for l in (ROOT / "fixtures" / "data" / "trec-test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    labels, texts = [r[0] for r in rows], [r[1] for r in rows]
    rng = random.Random(seed)
    pairs = []
    while len(pairs) < count:
        i, j = rng.randrange(len(texts)), rng.randrange(len(texts))
        same = int(labels[i] == labels[j])
        if i != j and same == len(pairs) % 2:
            pairs.append((i, j, same))
    return texts, pairs


def long_inputs(count=256, questions_each=14):
    rows = (ROOT / "fixtures" / "data" / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    questions = [r.split("\t", 1)[1] for r in rows]
    return [" ".join(questions[i * questions_each:(i + 1) * questions_each]) for i in range(count)]


def spearman(features, pairs):
    i, j, gold = (np.array(c) for c in zip(*pairs))
    return 100 * spearmanr(cosines(features[i], features[j]), gold).statistic


def gpt2_drift(args, work):
    corpus = work / "fidelity-corpus.txt"
    paragraphs = []
    for name in ("README.md", "BENCHMARKS.md"):
        for block in (ROOT / name).read_text(encoding="utf-8").split("\n\n"):
            text = " ".join(block.split())
            if len(text) > 200 and not text.startswith(("|", "```", "#")):
                paragraphs.append(text)
    corpus.write_text("\n".join(paragraphs[:40]) + "\n", encoding="utf-8")
    prompts = [l.split("\t", 1)[1] for l in (ROOT / "fixtures" / "data" / "trec-test.tsv").read_text(encoding="utf-8").splitlines()[1:21]]
    result = {}
    for precision in PRECISIONS:
        summary = subprocess.run([args.ckpt, "perplexity", "--model", args.gpt2, "--precision", precision, str(corpus)],
                                 check=True, capture_output=True, text=True).stderr.strip().splitlines()[-1]
        perplexity = float(summary.rsplit("perplexity ", 1)[1])
        greedy = [json.loads(ckpt(args, "generate", "--model", args.gpt2, "--precision", precision, "--prompt", p,
                                  "--max-new-tokens", "64", "--format", "json", "--quiet"))["ids"] for p in prompts]
        result[precision] = {"perplexity": perplexity, "greedy": greedy}
    reference = result["f32"]
    for r in result.values():
        r["perplexity_drift_percent"] = 100 * (r["perplexity"] / reference["perplexity"] - 1)
        r["tokens_before_divergence"] = [next((t for t, (a, b) in enumerate(zip(mine, ref)) if a != b), len(ref))
                                         for mine, ref in zip(r["greedy"], reference["greedy"])]
    for r in result.values():
        del r["greedy"]
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--gpt2", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    sentences = [json.loads(l) for l in (ROOT / "fixtures" / "minilm" / "sentences.jsonl").read_text(encoding="utf-8").split("\n") if l]
    golden = np.load(ROOT / "fixtures" / "minilm" / "embeddings.npy")
    questions, pairs = similarity_pairs()
    long = long_inputs()
    routes = {f"ckpt {p}": (ckpt_features(args, sentences, p, work / f"fidelity-parity-{p}.npy"),
                            ckpt_features(args, questions, p, work / f"fidelity-trec-{p}.npy"),
                            ckpt_features(args, long, p, work / f"fidelity-long-{p}.npy", max_length=128)) for p in PRECISIONS}
    peers = [peer_features(args, sentences), peer_features(args, questions), peer_features(args, long, max_length=128)]
    routes.update({name: tuple(features[name] for features in peers) for name in peers[0]})
    long_reference = routes["ST f32"][2]

    report = {"cpu": json.loads(ckpt(args, "system", "--json"))["cpu"]["model"], "features": {}}
    print(f"{'route':24} {'worst cos':>10} {'mean cos':>10} {'TREC Spearman':>14} {'128 tokens: worst cos':>22} {'mean cos':>10}")
    for name, (parity, trec, long_features) in routes.items():
        c, c_long = cosines(parity, golden), cosines(long_features, long_reference)
        row = {"worst_cosine": float(c.min()), "mean_cosine": float(c.mean()), "spearman": float(spearman(trec, pairs)),
               "worst_cosine_128_tokens": float(c_long.min()), "mean_cosine_128_tokens": float(c_long.mean())}
        report["features"][name] = row
        print(f"{name:24} {row['worst_cosine']:10.5f} {row['mean_cosine']:10.6f} {row['spearman']:14.2f} "
              f"{row['worst_cosine_128_tokens']:22.5f} {row['mean_cosine_128_tokens']:10.6f}")

    report["gpt2"] = gpt2_drift(args, work)
    print(f"\n{'GPT-2 124M (random)':24} {'perplexity':>12} {'drift':>8} {'greedy tokens before divergence (of 64, 20 prompts)':>20}")
    for precision, r in report["gpt2"].items():
        tokens = r["tokens_before_divergence"]
        print(f"{precision:24} {r['perplexity']:12.1f} {r['perplexity_drift_percent']:7.3f}% "
              f"min {min(tokens)}, median {sorted(tokens)[len(tokens) // 2]}, {sum(t == 64 for t in tokens)} of 20 identical")
    (work / "fidelity.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
