#!/usr/bin/env python3
"""Writes fixtures/gguf/models/: GGUF files of the tiny BERT and GPT-2 fixtures written the way
llama.cpp's convert_hf_to_gguf.py writes them, with the `gguf` package alone (its tensor-name map,
its writer, its Q8_0 quantizer; no ckpt metadata keys), and what transformers computes from the
weights those files hold:

  bert-f32.gguf, bert-q8_0.gguf   fixtures/bert/maskedlm's encoder (no pooler, no masked-LM head)
  gpt2-f16.gguf                   fixtures/gpt2/lmhead (Conv1D weights transposed; `output` = wte)
  golden.json                     per file: token ids of TEXTS (the Hugging Face tokenizer), and
                                  BERT's mean-pooled last hidden states or GPT-2's last-position
                                  logits of the first 4,096 ids and mean negative log-likelihood, from transformers run on
                                  the weights read back from the file with gguf.GGUFReader

    python tools/make_gguf_model_fixtures.py
"""
import json
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter, MODEL_ARCH, TokenType, get_tensor_name_map
from gguf.quants import dequantize, quantize
from safetensors.numpy import load_file
from transformers import BertConfig, BertModel, BertTokenizer, GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "gguf" / "models"
BERT_DIR = ROOT / "fixtures" / "bert" / "maskedlm"
GPT2_DIR = ROOT / "fixtures" / "gpt2" / "lmhead"
TEXTS = ["the quick brown fox", "Hello, world! unaffable", "a b c d e f"]
LOGITS = 4096  # last-position logits kept in golden.json (the mean NLL covers the whole vocabulary)
CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


def add_tensor(writer, name, array, qtype):
    array = np.ascontiguousarray(array)
    if array.ndim < 2 or name == "token_types.weight" or qtype == GGMLQuantizationType.F32:
        writer.add_tensor(name, array.astype(np.float32))
    elif qtype == GGMLQuantizationType.F16:
        writer.add_tensor(name, array.astype(np.float16))
    elif array.shape[-1] % 32 == 0:
        writer.add_tensor(name, quantize(array.astype(np.float32), qtype), raw_dtype=qtype)
    else:  # llama.cpp falls back to F16 for rows that are not whole Q8_0 blocks
        writer.add_tensor(name, array.astype(np.float16))


def write_bert(path, qtype):
    config = json.loads((BERT_DIR / "config.json").read_text())
    state = {k.removeprefix("bert."): v for k, v in load_file(BERT_DIR / "model.safetensors").items()}
    names = get_tensor_name_map(MODEL_ARCH.BERT, config["num_hidden_layers"])
    w = GGUFWriter(str(path), "bert")
    w.add_context_length(config["max_position_embeddings"]); w.add_embedding_length(config["hidden_size"])
    w.add_feed_forward_length(config["intermediate_size"]); w.add_block_count(config["num_hidden_layers"])
    w.add_head_count(config["num_attention_heads"]); w.add_layer_norm_eps(config["layer_norm_eps"])
    w.add_causal_attention(False); w.add_file_type(0 if qtype == GGMLQuantizationType.F32 else 7)
    tokens = (BERT_DIR / "vocab.txt").read_text().splitlines()
    specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    types = [TokenType.CONTROL if t in specials else TokenType.NORMAL for t in tokens]
    phantom = [t if ty == TokenType.CONTROL else (t[2:] if t.startswith("##") else "\u2581" + t) for t, ty in zip(tokens, types)]
    w.add_tokenizer_model("bert"); w.add_tokenizer_pre("default"); w.add_token_list(phantom); w.add_token_types(types)
    w.add_token_type_count(config["type_vocab_size"])
    # gguf.SpecialVocab writes [CLS] and [SEP] as BOS and EOS too (there is no CLS key)
    for add, token in [(w.add_bos_token_id, "[CLS]"), (w.add_eos_token_id, "[SEP]"), (w.add_unk_token_id, "[UNK]"),
                       (w.add_sep_token_id, "[SEP]"), (w.add_pad_token_id, "[PAD]"), (w.add_mask_token_id, "[MASK]")]:
        add(tokens.index(token))
    for name, array in state.items():
        if name.startswith(("pooler.", "cls.")) or name.endswith("position_ids"):
            continue
        add_tensor(w, names.get_name(name, try_suffixes=(".weight", ".bias")), array, qtype)
    finish(w)


def write_gpt2(path, qtype):
    config = json.loads((GPT2_DIR / "config.json").read_text())
    state = load_file(GPT2_DIR / "model.safetensors")
    names = get_tensor_name_map(MODEL_ARCH.GPT2, config["n_layer"])
    w = GGUFWriter(str(path), "gpt2")
    w.add_context_length(config["n_positions"]); w.add_embedding_length(config["n_embd"])
    w.add_feed_forward_length(4 * config["n_embd"]); w.add_block_count(config["n_layer"])
    w.add_head_count(config["n_head"]); w.add_layer_norm_eps(config["layer_norm_epsilon"]); w.add_file_type(1)
    vocab = json.loads((GPT2_DIR / "vocab.json").read_text())
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [line for line in (GPT2_DIR / "merges.txt").read_text().splitlines() if line and not line.startswith("#version")]
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("gpt-2"); w.add_token_list(tokens)
    w.add_token_types([TokenType.CONTROL if t == "<|endoftext|>" else TokenType.NORMAL for t in tokens]); w.add_token_merges(merges)
    w.add_bos_token_id(config["bos_token_id"]); w.add_eos_token_id(config["eos_token_id"])
    for name, array in state.items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        array = array.astype(np.float32)
        if name.endswith(CONV1D):
            array = array.T
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new == "output.weight":
            continue
        add_tensor(w, new, array, qtype)
        if new == "token_embd.weight":  # GPT-2's output is tied to wte: llama.cpp writes it out
            add_tensor(w, "output.weight", array, qtype)
    finish(w)


def finish(w):
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def read_back(path):
    """name → f32 array, row-major, as the file holds it (Q8_0 dequantized by the reference)."""
    out = {}
    for t in GGUFReader(str(path)).tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        if t.tensor_type == GGMLQuantizationType.Q8_0:
            out[t.name] = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        else:
            out[t.name] = np.asarray(t.data).astype(np.float32).reshape(shape)
    return out


def bert_golden(path):
    config = BertConfig.from_pretrained(BERT_DIR)
    model = BertModel(config, add_pooling_layer=False).eval()
    names = get_tensor_name_map(MODEL_ARCH.BERT, config.num_hidden_layers)
    stored = read_back(path)
    state = {k: torch.from_numpy(stored[names.get_name(k, try_suffixes=(".weight", ".bias"))]) for k in model.state_dict() if not k.endswith("position_ids")}
    model.load_state_dict(state, strict=False)
    tokenizer = BertTokenizer(str(BERT_DIR / "vocab.txt"))
    ids, features = [], []
    with torch.no_grad():
        for text in TEXTS:
            encoded = tokenizer(text, return_tensors="pt")
            hidden = model(**encoded).last_hidden_state[0]
            ids.append(encoded["input_ids"][0].tolist())
            features.append(hidden.mean(0).tolist())
    return {"ids": ids, "features": features}


def gpt2_golden(path):
    config = GPT2Config.from_pretrained(GPT2_DIR)
    model = GPT2LMHeadModel(config).float().eval()
    names = get_tensor_name_map(MODEL_ARCH.GPT2, config.n_layer)
    stored = read_back(path)
    state = {}
    for k in model.state_dict():
        if k.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        array = stored[names.get_name(k, try_suffixes=(".weight", ".bias"))]
        state[k] = torch.from_numpy(array.T.copy() if k.endswith(CONV1D) else array)
    model.load_state_dict(state, strict=False)
    tokenizer = GPT2Tokenizer(str(GPT2_DIR / "vocab.json"), str(GPT2_DIR / "merges.txt"))
    ids, last, nll = [], [], []
    with torch.no_grad():
        for text in TEXTS:
            encoded = tokenizer(text, return_tensors="pt")["input_ids"]
            logits = model(encoded).logits[0].double()
            ids.append(encoded[0].tolist())
            last.append(logits[-1, :LOGITS].tolist())
            nll.append(torch.nn.functional.cross_entropy(logits[:-1], encoded[0, 1:]).item())
    return {"ids": ids, "last_logits": last, "mean_nll": nll}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    golden = {}
    for name, qtype in [("bert-f32", GGMLQuantizationType.F32), ("bert-q8_0", GGMLQuantizationType.Q8_0)]:
        write_bert(OUT / f"{name}.gguf", qtype)
        golden[name] = bert_golden(OUT / f"{name}.gguf")
    write_gpt2(OUT / "gpt2-f16.gguf", GGMLQuantizationType.F16)
    golden["gpt2-f16"] = gpt2_golden(OUT / "gpt2-f16.gguf")
    golden["texts"] = TEXTS
    (OUT / "golden.json").write_text(json.dumps(golden))


if __name__ == "__main__":
    main()
