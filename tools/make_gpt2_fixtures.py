#!/usr/bin/env python3
"""Writes fixtures/gpt2/: tiny random GPT-2 checkpoints made with transformers (fixed seed) in the
layouts people download, with the real GPT-2 vocabulary, and golden outputs.

  lmhead/      GPT2LMHeadModel.save_pretrained in float16 ("transformer." names, lm_head tied, dropped)
  bare/        the same weights as the published `gpt2` checkpoint stores them: bare names
               (wte.weight, h.0.attn.c_attn.weight, ...), float32, attn.bias / attn.masked_bias buffers
  npz/         the same weights as model.npz (float16, "transformer." names)
  untied/      a different model: 64-token vocabulary, its own lm_head (tie_word_embeddings false),
               activation "gelu", sharded safetensors with an index
  golden.npz   per model (prefix "tied_" / "untied_"): `ids` [n_positions], `logits` at the columns
               `columns` for every position, `logsumexp` of every full row; greedy continuations
               `embed_last` / `embed_mean`: GPT2Model features of EMBED_TEXTS (last token, mean over tokens;
               texts cut to n_positions tokens; an empty text, which GPT-2 cannot run, gets zeros)
  golden.json  greedy generations (transformers' generate, do_sample=False) and perplexities

The tied models' weights are rounded to float16 first, so every layout holds exactly the same values.
Tokenizer files are relative symlinks to fixtures/tokenizers/gpt2.

    python tools/make_gpt2_fixtures.py              # the fixtures
    python tools/make_gpt2_fixtures.py --bench DIR  # the full 124M shape (random init) for benchmarks
"""
import argparse
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import GPT2Config, GPT2LMHeadModel

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "fixtures" / "gpt2"
TOKENIZER = REPO / "fixtures" / "tokenizers" / "gpt2"
PROMPTS = ["The quick brown fox", "Hello, world! ", "Über naïve café — 東京 🙂", "def f(x):\n    return", ""]
EMBED_TEXTS = ["A short one.", "", "Une phrase un peu plus longue, en français, pour voir.", "東京 🙂", "x " * 200]
PERPLEXITY_TEXTS = ["The quick brown fox jumps over the lazy dog.", "a b", "Zürich 東京 " * 30, "x"]
NEW_TOKENS = 64


def link_tokenizer(directory):
    for name in ["vocab.json", "merges.txt"]:
        os.symlink(os.path.relpath(TOKENIZER / name, directory), directory / name)


def tied_model():
    torch.manual_seed(0)
    # A wide initializer spreads the logits so that greedy choices are clear-cut (no near ties).
    config = GPT2Config(vocab_size=50257, n_positions=128, n_embd=16, n_layer=2, n_head=2, initializer_range=0.2)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model


def untied_model():
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=64, n_positions=128, n_embd=24, n_layer=3, n_head=4, activation_function="gelu",
                        tie_word_embeddings=False, initializer_range=0.2, bos_token_id=63, eos_token_id=63)
    return GPT2LMHeadModel(config).eval()


def save_layouts(model):
    model.half().save_pretrained(ROOT / "lmhead", safe_serialization=True)
    model.float()
    link_tokenizer(ROOT / "lmhead")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = ROOT / "lmhead" / "config.json"

    (ROOT / "bare").mkdir()
    shutil.copy(config, ROOT / "bare" / "config.json")
    link_tokenizer(ROOT / "bare")
    n = model.config.n_positions
    bare = {k[len("transformer."):]: v for k, v in state.items() if k.startswith("transformer.")}
    for layer in range(model.config.n_layer):
        # The buffers older transformers saved with the published checkpoint.
        bare[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        bare[f"h.{layer}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(bare, str(ROOT / "bare" / "model.safetensors"), metadata={"format": "pt"})

    (ROOT / "npz").mkdir()
    shutil.copy(config, ROOT / "npz" / "config.json")
    link_tokenizer(ROOT / "npz")
    np.savez(ROOT / "npz" / "model.npz", **{k: v.half().numpy() for k, v in state.items() if k != "lm_head.weight"})


def golden_logits(model, prefix, seed):
    g = torch.Generator().manual_seed(seed)
    n, V = model.config.n_positions, model.config.vocab_size
    ids = torch.randint(0, V, (n,), generator=g)
    with torch.no_grad():
        logits = model(ids[None]).logits[0]
    columns = torch.arange(0, V, max(1, V // 1000))
    return {prefix + "ids": ids.numpy().astype(np.int32), prefix + "columns": columns.numpy().astype(np.int32),
            prefix + "logits": logits[:, columns].numpy(), prefix + "logsumexp": logits.logsumexp(-1).numpy()}


def greedy(model, ids):
    """transformers' greedy continuation, and the smallest gap between the two best logits on the way."""
    bos = model.config.bos_token_id
    prompt = torch.tensor([ids if ids else [bos]])
    with torch.no_grad():
        out = model.generate(prompt, do_sample=False, max_new_tokens=NEW_TOKENS, pad_token_id=model.config.eos_token_id,
                             output_scores=True, return_dict_in_generate=True)
    gaps = [float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in out.scores]
    return out.sequences[0, prompt.shape[1]:].tolist(), min(gaps)


def perplexity(model, ids, stride):
    """The transformers sliding-window recipe (windows of n_positions, advancing by `stride`), with each
    predicted token counted once: the mean of the per-token negative log-likelihoods."""
    n = model.config.n_positions
    nlls = []
    previous_end = 0
    for begin in range(0, len(ids), stride):
        end = min(begin + n, len(ids))
        window = torch.tensor([ids[begin:end]])
        with torch.no_grad():
            logits = model(window).logits[0].double()
        targets = window[0, 1:]
        token_nll = -logits[:-1].log_softmax(-1).gather(1, targets[:, None])[:, 0]
        fresh = end - max(previous_end, begin + 1)  # predicted tokens not scored by an earlier window
        nlls += token_nll[len(token_nll) - fresh:].tolist()
        previous_end = end
        if end == len(ids):
            break
    return nlls


def embeddings(model, tokenizer):
    """Last-token and mean-pooled final hidden states (GPT2Model's last_hidden_state, after ln_f), one
    text at a time, cut to the context. An empty text has no tokens: its features are zeros."""
    last, mean = [], []
    for text in EMBED_TEXTS:
        ids = tokenizer.encode(text).ids[:model.config.n_positions]
        if not ids:
            last.append(np.zeros(model.config.n_embd, np.float32))
            mean.append(np.zeros(model.config.n_embd, np.float32))
            continue
        with torch.no_grad():
            hidden = model.transformer(torch.tensor([ids])).last_hidden_state[0]
        last.append(hidden[-1].numpy())
        mean.append(hidden.mean(0).numpy())
    return {"embed_last": np.stack(last), "embed_mean": np.stack(mean)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", help="write the 124M-shape GPT-2 (random init, seed 0) to this directory instead")
    args = parser.parse_args()
    if args.bench:
        return make_bench_model(Path(args.bench))

    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    tokenizer = Tokenizer.from_file(str(TOKENIZER / "tokenizer.json"))
    tied = tied_model()
    save_layouts(tied)
    untied = untied_model()
    untied.save_pretrained(ROOT / "untied", safe_serialization=True, max_shard_size="40KB")

    golden = {**golden_logits(tied, "tied_", 2), **golden_logits(untied, "untied_", 3)}
    generations, smallest_gap = [], math.inf
    for prompt in PROMPTS:
        ids = tokenizer.encode(prompt).ids
        new, gap = greedy(tied, ids)
        smallest_gap = min(smallest_gap, gap)
        generations.append({"prompt": prompt, "prompt_ids": ids or [tied.config.bos_token_id], "ids": new,
                            "text": tokenizer.decode(new)})
    g = torch.Generator().manual_seed(4)
    untied_prompt = torch.randint(0, 63, (5,), generator=g).tolist()
    untied_new, gap = greedy(untied, untied_prompt)
    smallest_gap = min(smallest_gap, gap)
    print(f"smallest gap between the two best logits in greedy decoding: {smallest_gap:.2e}")
    assert smallest_gap > 1e-3, "near tie in greedy decoding: pick another seed"

    scores = []
    for text in PERPLEXITY_TEXTS:
        ids = tokenizer.encode(text).ids
        for stride in [64, 100]:
            nlls = perplexity(tied, ids, stride)
            mean = sum(nlls) / len(nlls) if nlls else None
            scores.append({"text": text, "stride": stride, "tokens": len(ids), "nll": mean,
                           "perplexity": math.exp(mean) if mean is not None else None})
    golden.update(embeddings(tied, tokenizer))
    (ROOT / "golden.json").write_text(json.dumps({
        "embed_texts": EMBED_TEXTS,
        "generations": generations,
        "untied_generation": {"prompt_ids": untied_prompt, "ids": untied_new},
        "perplexity": scores}, indent=1, ensure_ascii=False) + "\n")
    np.savez(ROOT / "golden.npz", **golden)
    print("wrote", sorted(p.name for p in ROOT.iterdir()), "longest text", max(s["tokens"] for s in scores), "tokens")


def make_bench_model(directory):
    """GPT-2 124M (n_embd 768, 12 layers, 12 heads, 1024 positions), random init, saved as
    GPT2LMHeadModel.save_pretrained does, with the real tokenizer files copied beside it."""
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config()).eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    for name in ["vocab.json", "merges.txt", "tokenizer.json"]:
        shutil.copy(TOKENIZER / name, directory / name)
    print("wrote", directory, sum(p.numel() for p in model.parameters()), "parameters")


if __name__ == "__main__":
    main()
