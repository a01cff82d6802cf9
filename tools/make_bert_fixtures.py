#!/usr/bin/env python3
"""Writes fixtures/bert/: tiny random BERT checkpoints made with transformers (fixed seed) in the
layouts people download, and golden outputs for a padded batch.

  bertmodel/             BertModel.save_pretrained (bare names, safetensors) + config.json
  bertmodel-npz/         the same weights as model.npz
  bertmodel-f16/         the same weights in float16
  maskedlm/              BertForMaskedLM (names under "bert." and "cls.predictions.")
  legacy/                BertModel weights under "bert." with LayerNorm.gamma / LayerNorm.beta
  golden.npz             input_ids, token_type_ids, attention_mask, last_hidden_state, pooler_output
                         (BertModel, f32) and mlm_logits (BertForMaskedLM)

    python tools/make_bert_fixtures.py
"""
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertModel

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "bert"


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40, type_vocab_size=2, hidden_act="gelu")
    model = BertModel(config).eval()
    model.save_pretrained(ROOT / "bertmodel", safe_serialization=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}

    (ROOT / "bertmodel-npz").mkdir()
    shutil.copy(ROOT / "bertmodel" / "config.json", ROOT / "bertmodel-npz" / "config.json")
    np.savez(ROOT / "bertmodel-npz" / "model.npz", **{k: v.numpy() for k, v in state.items()})

    (ROOT / "bertmodel-f16").mkdir()
    shutil.copy(ROOT / "bertmodel" / "config.json", ROOT / "bertmodel-f16" / "config.json")
    save_file({k: v.half() if v.is_floating_point() else v for k, v in state.items()},
              str(ROOT / "bertmodel-f16" / "model.safetensors"), metadata={"format": "pt"})

    (ROOT / "legacy").mkdir()
    shutil.copy(ROOT / "bertmodel" / "config.json", ROOT / "legacy" / "config.json")
    legacy = {"bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
              for k, v in state.items()}
    save_file(legacy, str(ROOT / "legacy" / "model.safetensors"), metadata={"format": "pt"})

    torch.manual_seed(1)
    mlm = BertForMaskedLM(config).eval()
    mlm.save_pretrained(ROOT / "maskedlm", safe_serialization=True)

    # A 99-entry WordPiece vocabulary for the masked-LM model, and transformers' top 5 per [MASK]
    # (what the fill-mask pipeline reports: softmax of the logits at the mask, highest first).
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "is", "was", "big", "small", "red", "blue", "runs", "jumps",
             "over", "under", "house", "tree", "car", "city", "paris", "london", "capital", "of", "france", "and", "or",
             "to", "in", "it", "he", "she", "they", "we", "you", "i", ".", ",", "!", "?", "##s", "##ed", "##ing", "##er",
             "play", "walk", "talk", "book", "read", "write", "good", "bad", "new", "old", "day", "night", "sun", "moon",
             "water", "fire", "earth", "air", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "ten", "man", "woman", "child", "time", "year", "way", "thing", "world", "life", "hand", "part", "place",
             "case", "week", "work", "fact", "group", "number", "home", "road", "door", "room"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words[:config.vocab_size - 5]
    assert len(vocab) == config.vocab_size
    (ROOT / "maskedlm" / "vocab.txt").write_text("\n".join(vocab) + "\n")
    from tokenizers import BertWordPieceTokenizer
    wordpiece = BertWordPieceTokenizer(str(ROOT / "maskedlm" / "vocab.txt"), lowercase=True)
    fill = []
    for text in ["The cat sat on the [MASK].", "Paris is the [MASK] of France!", "[MASK] dog runs over the [MASK] house"]:
        enc = wordpiece.encode(text)
        with torch.no_grad():
            logits = mlm(input_ids=torch.tensor([enc.ids]), token_type_ids=torch.tensor([enc.type_ids])).logits[0]
        for position in [i for i, t in enumerate(enc.ids) if t == 4]:
            probs = logits[position].softmax(-1)
            top = probs.topk(5)
            fill.append({"text": text, "position": position, "ids": top.indices.tolist(), "probabilities": top.values.tolist()})
    (ROOT / "maskedlm" / "fill_mask.json").write_text(json.dumps(fill, indent=1) + "\n")

    g = torch.Generator().manual_seed(2)
    lengths = [9, 6, 1, 12]
    T = max(lengths)
    ids = torch.zeros(len(lengths), T, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(1, config.vocab_size, (n,), generator=g)
        types[b, n // 2:n] = 1
        mask[b, :n] = 1
    with torch.no_grad():
        out = model(input_ids=ids, token_type_ids=types, attention_mask=mask)
        logits = mlm(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
    np.savez(ROOT / "golden.npz", input_ids=ids.numpy().astype(np.int32), token_type_ids=types.numpy().astype(np.int32),
             attention_mask=mask.numpy().astype(np.int32), last_hidden_state=out.last_hidden_state.numpy(),
             pooler_output=out.pooler_output.numpy(), mlm_logits=logits.numpy())
    print("wrote", sorted(p.name for p in ROOT.iterdir()))
    print(sorted(mlm.state_dict().keys())[-8:])


if __name__ == "__main__":
    main()
