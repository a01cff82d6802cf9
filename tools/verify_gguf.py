#!/usr/bin/env python3
"""Checks the GGUF files `ckpt convert MODEL_DIR out.gguf --dtype T` writes with the `gguf` package
(the reference reader maintained with llama.cpp), and pins their CRC-32s for the Swift tests:

- every tensor llama.cpp's converter would write, under its name, with its shape (Conv1D weights
  transposed to [out, in]); values equal to the checkpoint's: exactly for F32, as NumPy rounds for
  F16 and BF16, and Q8_0 blocks bit-identical to `gguf.quants.quantize` of the same f32 data;
  norms, biases and token types F32;
- the architecture keys equal config.json; the tokenizer keys (tokens in llama.cpp's form, types,
  merges for GPT-2) equal the tokenizer's vocabulary;
- with `--with-heads` (BERT, F32), the same tensors, and the masked-LM head in ckpt.head.* keys:
  each one's shape and f32 values equal the checkpoint's; the directory rebuilt from that file
  gives the original's masked-LM logits in transformers.

Writes fixtures/gguf/conversions.json: {"<model>[+heads]/<dtype>": crc32 of the file}.

    python tools/verify_gguf.py .build/release/ckpt
"""
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import quantize
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"bert": ROOT / "fixtures" / "bert" / "maskedlm", "gpt2": ROOT / "fixtures" / "gpt2" / "lmhead"}
TYPES = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "bf16": GGMLQuantizationType.BF16, "q8_0": GGMLQuantizationType.Q8_0}


def expected_tensors(kind, state, config):
    """llama.cpp's name → the f32 array it holds (row-major, as numpy sees GGUF's reversed dims)."""
    out = {}
    if kind == "bert":
        s = {k.removeprefix("bert."): v for k, v in state.items()}
        out["token_embd.weight"] = s["embeddings.word_embeddings.weight"]
        out["position_embd.weight"] = s["embeddings.position_embeddings.weight"]
        out["token_types.weight"] = s["embeddings.token_type_embeddings.weight"]
        out["token_embd_norm.weight"] = s["embeddings.LayerNorm.weight"]
        out["token_embd_norm.bias"] = s["embeddings.LayerNorm.bias"]
        for n in range(config["num_hidden_layers"]):
            hf = f"encoder.layer.{n}."
            for g, h in [("attn_q", "attention.self.query"), ("attn_k", "attention.self.key"), ("attn_v", "attention.self.value"),
                         ("attn_output", "attention.output.dense"), ("attn_output_norm", "attention.output.LayerNorm"),
                         ("ffn_up", "intermediate.dense"), ("ffn_down", "output.dense"), ("layer_output_norm", "output.LayerNorm")]:
                out[f"blk.{n}.{g}.weight"] = s[hf + h + ".weight"]
                out[f"blk.{n}.{g}.bias"] = s[hf + h + ".bias"]
    else:
        s = {k.removeprefix("transformer."): v for k, v in state.items()}
        out["token_embd.weight"] = s["wte.weight"]
        out["position_embd.weight"] = s["wpe.weight"]
        out["output_norm.weight"] = s["ln_f.weight"]
        out["output_norm.bias"] = s["ln_f.bias"]
        out["output.weight"] = s.get("lm_head.weight", s["wte.weight"])
        for n in range(config["n_layer"]):
            for g, h, conv in [("attn_norm", "ln_1", False), ("attn_qkv", "attn.c_attn", True), ("attn_output", "attn.c_proj", True),
                               ("ffn_norm", "ln_2", False), ("ffn_up", "mlp.c_fc", True), ("ffn_down", "mlp.c_proj", True)]:
                w = s[f"h.{n}.{h}.weight"]
                out[f"blk.{n}.{g}.weight"] = w.T.copy() if conv else w
                out[f"blk.{n}.{g}.bias"] = s[f"h.{n}.{h}.bias"]
    return {k: v.astype(np.float32) for k, v in out.items()}


def stored_type(name, array, dtype):
    if array.ndim < 2 or name == "token_types.weight":
        return GGMLQuantizationType.F32
    if dtype == "q8_0" and array.shape[-1] % 32 != 0:
        return GGMLQuantizationType.F16
    return TYPES[dtype]


def encoded(array, qtype):
    if qtype == GGMLQuantizationType.F32:
        return array.astype("<f4").view(np.uint8).ravel()
    if qtype == GGMLQuantizationType.F16:
        return array.astype("<f2").view(np.uint8).ravel()
    if qtype == GGMLQuantizationType.BF16:
        bits = array.astype(np.float32).view(np.uint32)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")
        return rounded.view(np.uint8).ravel()
    return quantize(array, qtype).view(np.uint8).ravel()


def field(reader, key):
    f = reader.fields[key]
    if len(f.types) == 1 and f.types[0].name == "STRING":
        return bytes(f.parts[f.data[0]]).decode()
    if f.types[0].name == "ARRAY":
        if f.types[1].name == "STRING":
            return [bytes(f.parts[i]).decode() for i in f.data]
        return [int(f.parts[i][0]) for i in f.data]
    return f.parts[f.data[0]][0].item()


def check_heads(reader, state):
    """The pooler and masked-LM head tensors, listed in ckpt.heads, each as ckpt.head.<name> (f32)."""
    heads = [k for k in state if k.removeprefix("bert.").startswith(("pooler.", "cls."))]
    assert heads and sorted(field(reader, "ckpt.heads")) == sorted(heads), (field(reader, "ckpt.heads"), heads)
    for name in heads:
        f = reader.fields[f"ckpt.head.{name}"]
        assert f.types == [f.types[0].ARRAY, f.types[0].FLOAT32], (name, f.types)
        values = np.array([f.parts[i][0] for i in f.data], dtype=np.float32)
        assert field(reader, f"ckpt.head.{name}.shape") == list(state[name].shape), name
        assert np.array_equal(values.reshape(state[name].shape), state[name]), f"ckpt.head.{name} differs"


def check(ckpt, kind, dtype, work, heads=False):
    model = MODELS[kind]
    out = work / f"{kind}{'-heads' if heads else ''}-{dtype}.gguf"
    subprocess.run([ckpt, "convert", str(model), str(out), "--dtype", dtype, "--force", "--quiet"] + (["--with-heads"] if heads else []),
                   check=True)
    reader = GGUFReader(str(out))
    config = json.loads((model / "config.json").read_text())
    state = load_file(str(model / "model.safetensors"))
    expected = expected_tensors(kind, state, config)
    tensors = {t.name: t for t in reader.tensors}
    assert set(tensors) == set(expected), (set(tensors) ^ set(expected))
    for name, array in expected.items():
        t = tensors[name]
        qtype = stored_type(name, array, dtype)
        assert t.tensor_type == qtype, (name, t.tensor_type, qtype)
        assert list(reversed([int(d) for d in t.shape])) == list(array.shape), (name, t.shape, array.shape)
        assert np.array_equal(np.asarray(t.data).view(np.uint8).ravel(), encoded(array, qtype)), f"{kind}/{dtype}: {name} differs"
    arch = field(reader, "general.architecture")
    assert arch == kind
    if kind == "bert":
        assert field(reader, "bert.block_count") == config["num_hidden_layers"]
        assert field(reader, "bert.embedding_length") == config["hidden_size"]
        assert field(reader, "bert.attention.causal") is False
        assert field(reader, "tokenizer.ggml.model") == "bert"
        vocab = (model / "vocab.txt").read_text(encoding="utf-8").splitlines()
        tokens = field(reader, "tokenizer.ggml.tokens")
        assert len(tokens) == len(vocab)
        types = field(reader, "tokenizer.ggml.token_type")
        for token, got, t in zip(vocab, tokens, types):
            want = token if t == 3 else token[2:] if token.startswith("##") else "\u2581" + token
            assert got == want, (token, got)
        specials = {"bos": "[CLS]", "eos": "[SEP]", "unknown": "[UNK]", "seperator": "[SEP]", "padding": "[PAD]", "mask": "[MASK]"}
        for key, token in specials.items():  # as gguf.SpecialVocab writes them
            assert field(reader, f"tokenizer.ggml.{key}_token_id") == vocab.index(token), key
    else:
        assert field(reader, "gpt2.block_count") == config["n_layer"]
        assert field(reader, "gpt2.context_length") == config["n_positions"]
        assert field(reader, "tokenizer.ggml.model") == "gpt2"
        vocab = json.loads((model / "vocab.json").read_text(encoding="utf-8"))
        tokens = field(reader, "tokenizer.ggml.tokens")
        assert all(tokens[i] == t for t, i in vocab.items())
        merges = [l for l in (model / "merges.txt").read_text(encoding="utf-8").splitlines() if l and not l.startswith("#version")]
        assert field(reader, "tokenizer.ggml.merges") == merges
    if heads:
        check_heads(reader, state)
    if dtype == "f32":
        check_rebuilt_directory(ckpt, kind, out, work, heads)
    return zlib.crc32(out.read_bytes())


TEXTS = ["the quick brown fox", "Hello, world! unaffable", "a b c d e f"]


def check_rebuilt_directory(ckpt, kind, gguf_file, work, heads):
    """`ckpt convert x.gguf DIR/` gives a directory transformers loads as it loads the original:
    the same token ids from its tokenizer files, the same outputs from its config and weights (with
    the heads, the masked-LM logits)."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer
    import torch
    rebuilt = work / f"{kind}{'-heads' if heads else ''}-rebuilt"
    subprocess.run([ckpt, "convert", str(gguf_file), str(rebuilt) + "/", "--force", "--quiet"], check=True)
    load = (AutoModelForMaskedLM if heads else AutoModel) if kind == "bert" else AutoModelForCausalLM
    original_tok, rebuilt_tok = AutoTokenizer.from_pretrained(MODELS[kind]), AutoTokenizer.from_pretrained(rebuilt)
    original, again = load.from_pretrained(MODELS[kind]).float().eval(), load.from_pretrained(rebuilt).float().eval()
    for text in TEXTS:
        ids = original_tok(text, return_tensors="pt")
        assert ids["input_ids"].tolist() == rebuilt_tok(text, return_tensors="pt")["input_ids"].tolist(), text
        with torch.no_grad():
            a = original(**ids)[0]
            b = again(**ids)[0]
        assert torch.equal(a, b), f"{kind}: the rebuilt directory's outputs differ by {(a - b).abs().max()}"
    print(f"{kind}{' with heads' if heads else ''}: the directory rebuilt from the f32 file loads in transformers "
          "with the original's ids and outputs")


def main():
    ckpt = sys.argv[1]
    pins = {}
    with tempfile.TemporaryDirectory() as work:
        for kind in MODELS:
            for dtype in TYPES:
                pins[f"{kind}/{dtype}"] = check(ckpt, kind, dtype, Path(work))
                print(f"{kind} {dtype}: every tensor and key as llama.cpp lays them out")
        pins["bert+heads/f32"] = check(ckpt, "bert", "f32", Path(work), heads=True)
        print("bert f32 --with-heads: the masked-LM head in ckpt.head.* keys, equal to the checkpoint's")
    (ROOT / "fixtures" / "gguf" / "conversions.json").write_text(json.dumps(pins, indent=1) + "\n")


if __name__ == "__main__":
    main()
