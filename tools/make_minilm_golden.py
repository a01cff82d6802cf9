#!/usr/bin/env python3
"""Golden sentence embeddings of the real all-MiniLM-L6-v2 made by sentence-transformers, for 240
varied sentences (TREC questions, multilingual text, code, emoji, the empty string, texts longer
than the model's 256-token limit). Writes fixtures/minilm/sentences.jsonl and embeddings.npy.

    python tools/make_minilm_golden.py .cache/models/all-MiniLM-L6-v2
"""
import json
import sys
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

ROOT = Path(__file__).resolve().parent.parent / "fixtures"


def main():
    model_dir = sys.argv[1]
    corpus = [json.loads(l) for l in open(ROOT / "tokenizers" / "corpus.jsonl", encoding="utf-8")]
    trec = [l.split("\t", 1)[1] for l in (ROOT / "data" / "trec-test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    sentences = trec[:120] + corpus[8950:9010] + corpus[12000:12040] + [
        "", " ", "a", "[MASK]", "Hello, world!", "東京は日本の首都です。", "Москва — столица России.",
        "مرحبا بالعالم", "👨‍👩‍👧‍👦 🥲 🫠", "def f(x):\n    return x ** 2",
        " ".join(trec[:80]),  # far beyond 256 tokens
        "word " * 600,
        "naïve café résumé " * 40,
        "The quick brown fox jumps over the lazy dog. " * 30,
        "x" * 3000,
        "Ünïcödé ÀÉÎÕÜ ǅ ﬁ ⅷ",
        "numbers 1,234.56 and 3.14e10 and 0x1F",
        "tab\tseparated\tvalues",
        "line\nbreaks\r\nand\rreturns",
        "control\x00chars\x07here",
    ]
    model = SentenceTransformer(model_dir, device="cpu")
    embeddings = model.encode(sentences, batch_size=16, convert_to_numpy=True)
    (ROOT / "minilm").mkdir(exist_ok=True)
    with open(ROOT / "minilm" / "sentences.jsonl", "w", encoding="utf-8") as f:
        for s in sentences:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    np.save(ROOT / "minilm" / "embeddings.npy", embeddings.astype(np.float32))
    print(len(sentences), embeddings.shape, "max_seq_length", model.max_seq_length)


if __name__ == "__main__":
    main()
