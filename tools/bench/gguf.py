#!/usr/bin/env python3
"""GGUF conversion against the `gguf` package in Python, in one run: the 124M-shape GPT-2
(498 MB safetensors) to GGUF F16 and Q8_0. ckpt: `ckpt convert DIR out.gguf --dtype T` (whole
process). Python: the same tensors, names, transposes, types and tokenizer keys through
gguf.GGUFWriter with NumPy casts and gguf.quants.quantize (what convert_hf_to_gguf.py does, without
its PyTorch loading), whole process. Best of 3 wall times; peak RSS of each (input 498 MB).

    python tools/bench/gguf.py --ckpt .build/release/ckpt --model .cache/models/gpt2-124m --work .cache/bench
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, run_with_peak_rss  # noqa: E402

PEER = r"""
import json, sys
import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFWriter
from gguf.quants import quantize
from safetensors.numpy import safe_open
model, out, dtype = sys.argv[1], sys.argv[2], sys.argv[3]
config = json.load(open(model + "/config.json"))
w = GGUFWriter(out, "gpt2")
w.add_context_length(config["n_positions"]); w.add_embedding_length(config["n_embd"]); w.add_feed_forward_length(4 * config["n_embd"])
w.add_block_count(config["n_layer"]); w.add_head_count(config["n_head"]); w.add_layer_norm_eps(config["layer_norm_epsilon"])
w.add_file_type(1 if dtype == "f16" else 7)
vocab = json.load(open(model + "/vocab.json", encoding="utf-8"))
tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("gpt-2"); w.add_token_list(tokens); w.add_token_types([1] * len(tokens))
w.add_token_merges([l for l in open(model + "/merges.txt", encoding="utf-8").read().splitlines() if l and not l.startswith("#version")])
names = {"wte.weight": "token_embd.weight", "wpe.weight": "position_embd.weight", "ln_f.weight": "output_norm.weight", "ln_f.bias": "output_norm.bias"}
parts = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm", "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
with safe_open(model + "/model.safetensors", "np") as f:
    for name in f.keys():
        bare = name.removeprefix("transformer.")
        if bare.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        data = f.get_tensor(name).astype(np.float32)
        if bare in names:
            target = names[bare]
        else:
            _, n, rest = bare.split(".", 2)
            part, kind = rest.rsplit(".", 1)
            target = f"blk.{n}.{parts[part]}.{kind}"
            if kind == "weight" and part in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                data = np.ascontiguousarray(data.T)
        outputs = [(target, data)] + ([("output.weight", data)] if target == "token_embd.weight" else [])
        for t, d in outputs:
            if d.ndim < 2:
                w.add_tensor(t, d)
            elif dtype == "f16" or d.shape[-1] % 32:
                w.add_tensor(t, d.astype(np.float16))
            else:
                w.add_tensor(t, quantize(d, Q.Q8_0), raw_dtype=Q.Q8_0)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
"""


def best(cmd, repeats=3):
    times, rss = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        _, peak = run_with_peak_rss(cmd)
        times.append(time.perf_counter() - start)
        rss = max(rss, peak)
    return min(times), rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    describe(args.ckpt)
    size = (Path(args.model) / "model.safetensors").stat().st_size
    print(f"\nGPT-2 124M ({size / 1e6:.0f} MB safetensors) to GGUF, best of 3 wall times, peak RSS")
    print(f"{'dtype':<8}{'ckpt s':>8}{'python s':>10}{'ratio':>8}{'ckpt RSS MB':>13}{'python RSS MB':>15}")
    for dtype in ("f16", "q8_0"):
        ours, our_rss = best([args.ckpt, "convert", args.model, str(work / f"gpt2-{dtype}.gguf"), "--dtype", dtype, "--force", "--quiet"])
        theirs, their_rss = best([sys.executable, "-c", PEER, args.model, str(work / f"gpt2-{dtype}-py.gguf"), dtype])
        print(f"{dtype:<8}{ours:>8.2f}{theirs:>10.2f}{theirs / ours:>7.2f}x{our_rss / 2**20:>13.0f}{their_rss / 2**20:>15.0f}")


if __name__ == "__main__":
    main()
