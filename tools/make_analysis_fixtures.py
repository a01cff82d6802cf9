#!/usr/bin/env python3
"""Writes fixtures/analysis/: golden attention maps, rollout, PCA, t-SNE quality, similarity and search
results made by the reference libraries.

  attention_bert.npz     tiny BertModel (fixtures/bert/bertmodel), a right-padded batch of a pair and a single
                         text: input_ids, token_type_ids, attention_mask, attentions [layers, B, heads, T, T]
                         (transformers, eager attention, output_attentions=True)
  attention_gpt2.npz     tiny GPT2Model (fixtures/gpt2/bare): input_ids [1, T], attentions [layers, 1, heads, T, T]
  attention_minilm.npz   the real all-MiniLM-L6-v2 for a text and for a pair: ids_*, type_ids_*, attentions_*,
                         and rollout_* (NumPy, Abnar & Zuidema: heads averaged, + I, rows renormalised,
                         R_l = Ã_l · R_{l-1}) of every layer, float64
  pca.npz                scikit-learn PCA(n_components=2) of fixtures/heads/trec-train-minilm.npy (all rows):
                         coordinates [N, 2], components [2, D], explained_variance
  tsne.json              openTSNE (perplexity 10, 250 + 500 steps, seed 0) on fixtures/minilm/embeddings.npy:
                         trustworthiness (scikit-learn, k = 10) and the exact KL divergence of its embedding
  pairs.tsv, similarity.json  100 TREC test question pairs (score 1 same class, 0 not) and sentence-transformers'
                         cosine of each, with SciPy's Spearman and Pearson to the scores
  search_corpus.txt, search.json  1,000 TREC training questions, 20 test questions as queries, and NumPy's
                         brute-force top 10 by cosine over sentence-transformers' features (ids and scores)

    python tools/make_analysis_fixtures.py .cache/models/all-MiniLM-L6-v2
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from openTSNE import TSNE
from openTSNE.affinity import PerplexityBasedNN
from scipy.stats import pearsonr, spearmanr
from sentence_transformers import SentenceTransformer
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness
from transformers import AutoTokenizer, BertModel, GPT2Model

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
ROOT = FIXTURES / "analysis"


def attentions(outputs):
    return np.stack([a.detach().numpy() for a in outputs.attentions]).astype(np.float32)


def rollout(att):
    """att: [layers, heads, T, T] → [layers, T, T] rollout after each layer (float64)."""
    result, r = [], None
    for layer in att.astype(np.float64):
        a = layer.mean(axis=0) + np.eye(layer.shape[-1])
        a = a / a.sum(axis=-1, keepdims=True)
        r = a if r is None else a @ r
        result.append(r)
    return np.stack(result)


def tiny_bert():
    model = BertModel.from_pretrained(FIXTURES / "bert" / "bertmodel", attn_implementation="eager", dtype=torch.float32).eval()
    ids = torch.tensor([[2, 17, 33, 54, 3, 21, 8, 3], [2, 40, 41, 3, 0, 0, 0, 0]])
    types = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
    mask = torch.tensor([[1] * 8, [1, 1, 1, 1, 0, 0, 0, 0]])
    with torch.no_grad():
        out = model(input_ids=ids, token_type_ids=types, attention_mask=mask, output_attentions=True)
    np.savez(ROOT / "attention_bert.npz", input_ids=ids.numpy().astype(np.int32), token_type_ids=types.numpy().astype(np.int32),
             attention_mask=mask.numpy().astype(np.int32), attentions=attentions(out))


def tiny_gpt2():
    model = GPT2Model.from_pretrained(FIXTURES / "gpt2" / "bare", attn_implementation="eager", dtype=torch.float32).eval()
    ids = torch.tensor([[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]])
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True)
    np.savez(ROOT / "attention_gpt2.npz", input_ids=ids.numpy().astype(np.int32), attentions=attentions(out))


def minilm(model_dir):
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32).eval()
    arrays = {}
    for name, args in [("text", ("The quick brown fox jumps over the lazy dog.",)),
                       ("pair", ("Who wrote Hamlet?", "Shakespeare wrote it around 1600."))]:
        enc = tokenizer(*args, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        att = attentions(out)[:, 0]
        arrays[f"ids_{name}"] = enc["input_ids"][0].numpy().astype(np.int32)
        arrays[f"type_ids_{name}"] = enc["token_type_ids"][0].numpy().astype(np.int32)
        arrays[f"attentions_{name}"] = att
        arrays[f"rollout_{name}"] = rollout(att)
    np.savez(ROOT / "attention_minilm.npz", **arrays)


def pca():
    x = np.load(FIXTURES / "heads" / "trec-train-minilm.npy").astype(np.float32)
    model = PCA(n_components=2).fit(x.astype(np.float64))
    np.savez(ROOT / "pca.npz", coordinates=model.transform(x.astype(np.float64)), components=model.components_,
             explained_variance=model.explained_variance_)


def exact_kl(embedding, P):
    """KL(P || Q), Q over all pairs exactly (what ckpt prints)."""
    d = ((embedding[:, None, :] - embedding[None, :, :]) ** 2).sum(-1)
    w = 1 / (1 + d)
    np.fill_diagonal(w, 0)
    P = P.tocoo()
    q = w[P.row, P.col] / w.sum()
    return float(np.sum(P.data * np.log(P.data / q)))


def tsne():
    x = np.load(FIXTURES / "minilm" / "embeddings.npy").astype(np.float64)
    affinities = PerplexityBasedNN(x, perplexity=10, method="exact", random_state=0)
    embedding = TSNE(perplexity=10, n_iter=500, random_state=0, n_jobs=1).fit(x)
    (ROOT / "tsne.json").write_text(json.dumps({
        "points": len(x), "perplexity": 10, "iterations": 500, "exaggeration_iterations": 250,
        "trustworthiness": trustworthiness(x, np.asarray(embedding), n_neighbors=10),
        "kl_divergence": exact_kl(np.asarray(embedding), affinities.P),
    }, indent=1) + "\n")


def similarity_and_search(model_dir):
    model = SentenceTransformer(model_dir, device="cpu")
    test = [l.split("\t", 1) for l in (FIXTURES / "data" / "trec-test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    train = [l.split("\t", 1)[1] for l in (FIXTURES / "data" / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    rng = np.random.default_rng(0)
    rows = ["sentence1\tsentence2\tscore"]
    first, second, scores = [], [], []
    for _ in range(100):
        a, b = rng.choice(len(test), 2, replace=False)
        first.append(test[a][1]); second.append(test[b][1]); scores.append(1.0 if test[a][0] == test[b][0] else 0.0)
        rows.append(f"{test[a][1]}\t{test[b][1]}\t{scores[-1]:.1f}")
    (ROOT / "pairs.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    e1, e2 = model.encode(first, convert_to_tensor=True), model.encode(second, convert_to_tensor=True)
    cosines = torch.nn.functional.cosine_similarity(e1, e2).numpy().astype(float)
    (ROOT / "similarity.json").write_text(json.dumps({
        "cosine": cosines.tolist(), "spearman": spearmanr(cosines, scores).statistic, "pearson": pearsonr(cosines, scores).statistic,
    }, indent=1) + "\n")

    corpus = train[:1000]
    queries = [t for _, t in test[:20]]
    (ROOT / "search_corpus.txt").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    c = model.encode(corpus, normalize_embeddings=True)
    q = model.encode(queries, normalize_embeddings=True)
    scores = q.astype(np.float64) @ c.astype(np.float64).T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    (ROOT / "search.json").write_text(json.dumps({
        "queries": queries, "top_k": 10, "indices": top.tolist(),
        "scores": np.take_along_axis(scores, top, axis=1).tolist(),
    }, indent=1) + "\n")


def main():
    model_dir = sys.argv[1]
    ROOT.mkdir(parents=True, exist_ok=True)
    tiny_bert()
    tiny_gpt2()
    minilm(model_dir)
    pca()
    tsne()
    similarity_and_search(model_dir)


if __name__ == "__main__":
    main()
