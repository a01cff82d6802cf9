#!/usr/bin/env python3
"""Writes fixtures/tokenizers/: the real vocabularies (all-MiniLM-L6-v2's WordPiece; GPT-2's BPE
ranks from openai-whisper's gpt2.tiktoken, with vocab.json + merges.txt + tokenizer.json derived
from them), a test corpus of 20,000+ lines mixing many scripts and hard cases, and golden outputs
of Hugging Face tokenizers and tiktoken for it.

    python tools/make_tokenizer_fixtures.py MINILM_DIR GPT2_TIKTOKEN
"""
import base64
import gzip
import json
import random
import shutil
import sys
import sysconfig
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "tokenizers"
DATA = Path(__file__).resolve().parent.parent / "fixtures" / "data"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def derive_gpt2_files(tiktoken_path, out):
    """vocab.json + merges.txt from tiktoken ranks: each multi-byte token's merge is the last step of
    tiktoken's own BPE over its bytes with only lower ranks allowed."""
    ranks = load_tiktoken_bpe(str(tiktoken_path))
    byte_char = bytes_to_unicode()
    to_str = lambda b: "".join(byte_char[x] for x in b)

    def bpe(token, max_rank):
        parts = [bytes([b]) for b in token]
        while True:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < max_rank and (best is None or r < best[1]):
                    best = (i, r)
            if best is None:
                return parts
            i = best[0]
            parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]

    vocab = {to_str(t): r for t, r in ranks.items()}
    vocab["<|endoftext|>"] = len(ranks)
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) > 1:
            left, right = bpe(token, rank)
            merges.append(f"{to_str(left)} {to_str(right)}")
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    # tokenizer.json as transformers' GPT2Converter builds it.
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], dropout=None,
                               continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=True)])
    tok.save(str(out / "tokenizer.json"))


# ------------------------------------------------------------------------ corpus

SCRIPTS = {
    "latin_accents": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿāăąćčďđēęěğīıłńňōőœřśşšťūůűźżžßÀÉÎÕÜÇŒ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώΑΒΓΔΘΛΞΠΣΦΨΩ",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯіїєґ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةىًٌٍَُِّْ",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשתךםןףץ",
    "devanagari": "अआइईउऊऋएऐओऔकखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह्ािीुूृेैोौंः",
    "thai": "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศสหอฮะาำิีึืุูเแโใไ่้๊๋",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明社长东西南北京",
    "japanese": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー",
    "hangul": "가나다라마바사아자차카타파하한국어대학교서울안녕하세요감사합니다",
    "armenian_georgian": "աբգդեզէըթժիլխծկհձղճմյնշոչպջռսվտրցւփքօֆაბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
}
REAL_PHRASES = [
    "Ça va? Très bien, merci — et toi?", "Über den Wolken muß die Freiheit wohl grenzenlos sein.",
    "¿Dónde está la biblioteca? ¡Allí!", "Νέα Υόρκη είναι μεγάλη πόλη.", "Москва — столица России.",
    "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "你好，世界！今天天气很好。",
    "東京都は日本の首都です。", "안녕하세요, 세계!", "Żółć gęślą jaźń.", "İstanbul'da ılık bir gün.",
    "Ǆemal i ǅemal su braća.", "ﬁne ﬂour ﬀ", "Ⅷ Ⅸ ⅻ ① ⑩ ½ ¾ ²³", "naïve façade coöperate résumé",
    "The café's crème brûlée costs €4.50 (≈$5).", "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ １２３",
]
EMOJI = ["😀", "🥲", "🫠", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩🏾‍💻", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🧑‍🤝‍🧑", "🐈‍⬛", "✌🏻", "🤷‍♀️"]
COMBINING = [chr(c) for c in list(range(0x300, 0x370)) + [0x1AB0, 0x1DC0, 0x20D0, 0x20E3, 0xFE0F, 0x0483, 0x0591, 0x093C]]
CONTROLS = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u200d", "\u2028", "\u2029", "\ufeff", "\u00ad", "\ufffd",
            "\t", "\r", "\n", "\r\n", "\x0b", "\x0c", "\u3000", "\u00a0", "\u2003"]
CONTRACTIONS = ["don't", "I'm", "you're", "we've", "they'll", "she'd", "it's", "DON'T", "I'M", "y'all", "'tis", "rock'n'roll",
                "o'clock", "can't", "won't", "'s", "'ll", "'re"]


def word(rng, alphabet, lo=1, hi=9):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def synthetic_line(rng):
    kind = rng.random()
    parts = []
    for _ in range(rng.randint(1, 14)):
        r = rng.random()
        if r < 0.35:
            parts.append(word(rng, rng.choice(list(SCRIPTS.values()))))
        elif r < 0.45:
            parts.append(rng.choice(EMOJI) * rng.randint(1, 2))
        elif r < 0.55:
            parts.append(word(rng, "abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3))))
        elif r < 0.62:
            parts.append(rng.choice(CONTROLS) * rng.randint(1, 3))
        elif r < 0.70:
            parts.append(rng.choice(CONTRACTIONS))
        elif r < 0.78:
            parts.append(rng.choice(["3.14159", "1,234,567", "2024-11-21", "0x1F600", "1e-10", "42", "٣٤٥", "१२३", "½",
                                     str(rng.randint(0, 10 ** rng.randint(1, 30)))]))
        elif r < 0.84:
            parts.append(rng.choice(REAL_PHRASES))
        elif r < 0.90:
            parts.append("".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 4))).encode("utf-8", "ignore").decode("utf-8", "ignore"))
        elif r < 0.95:
            parts.append(rng.choice(["!!", "...", "?!", "—", "«»", "“quoted”", "[SEP]", "[CLS]", "<|endoftext|>", "@user", "#tag", "http://x.org/a?b=c"]))
        else:
            parts.append(word(rng, "abcdefghij", 90, 130))  # around WordPiece's 100-character limit
    sep = rng.choice([" ", " ", " ", "  ", "\t", "", " \n ", "\r\n", "   "])
    line = sep.join(parts)
    if kind < 0.1:
        line = " " + line
    if kind > 0.9:
        line = line + rng.choice([" ", "  ", "\n", "\t "])
    return line


def corpus():
    rng = random.Random(20261121)
    lines = []
    trec = (DATA / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    lines += [l.split("\t", 1)[1] for l in trec]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in ["json/decoder.py", "textwrap.py", "string.py", "heapq.py", "bisect.py", "fractions.py", "difflib.py"]:
        lines += (stdlib / name).read_text(encoding="utf-8").splitlines()[:900]
    lines += REAL_PHRASES * 3
    lines += ["", " ", "\t", "\x00", "a" * 1000, "ab" * 300, "🥲" * 50, "'s'S's", "   leading", "trailing   ",
              "<|endoftext|>", "hello<|endoftext|>world", "[CLS] [SEP] [MASK] [UNK] [PAD]", "x" + "\u0301" * 40]
    while len(lines) < 21000:
        lines.append(synthetic_line(rng))
    return lines


def flat_offsets(offsets):
    return [v for pair in offsets for v in pair]


def main():
    minilm, tiktoken_path = Path(sys.argv[1]), Path(sys.argv[2])
    if ROOT.exists():
        shutil.rmtree(ROOT)
    (ROOT / "minilm").mkdir(parents=True)
    (ROOT / "gpt2").mkdir(parents=True)
    for name in ["vocab.txt", "tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(minilm / name, ROOT / "minilm" / name)
    shutil.copy(tiktoken_path, ROOT / "gpt2" / "gpt2.tiktoken")
    derive_gpt2_files(tiktoken_path, ROOT / "gpt2")

    lines = corpus()
    with open(ROOT / "corpus.jsonl", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")

    bert = Tokenizer.from_file(str(minilm / "tokenizer.json"))
    bert.no_padding()
    bert.no_truncation()
    gpt2 = Tokenizer.from_file(str(ROOT / "gpt2" / "tokenizer.json"))
    # tiktoken's gpt2 encoding (tiktoken_ext/openai_public.py), from the local ranks instead of a download.
    enc = tiktoken.Encoding(name="gpt2", pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
                            mergeable_ranks=load_tiktoken_bpe(str(tiktoken_path)), special_tokens={"<|endoftext|>": 50256})

    def write(name, rows):
        # mtime=0: the same goldens give the same bytes, so regenerating changes nothing in git.
        with open(ROOT / f"{name}.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            for row in rows:
                f.write((json.dumps(row, separators=(",", ":")) + "\n").encode())

    write("wordpiece", ({"ids": e.ids, "offsets": flat_offsets(e.offsets)} for e in bert.encode_batch(lines)))
    pairs = list(zip(lines[0::2], lines[1::2]))
    bert.enable_truncation(max_length=32, strategy="longest_first")
    write("wordpiece_pairs_max32", ({"ids": e.ids, "type_ids": e.type_ids, "offsets": flat_offsets(e.offsets)}
                                    for e in bert.encode_batch(pairs)))
    bert.enable_truncation(max_length=16)
    write("wordpiece_max16", ({"ids": e.ids, "offsets": flat_offsets(e.offsets)} for e in bert.encode_batch(lines)))
    hf = gpt2.encode_batch(lines)
    write("gpt2", ({"ids": e.ids, "offsets": flat_offsets(e.offsets)} for e in hf))
    # RoBERTa-style: the same BPE with a prefix space, <s>…</s> around sequences and trimmed offsets.
    roberta = Tokenizer.from_file(str(ROOT / "gpt2" / "tokenizer.json"))
    roberta.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    roberta.post_processor = processors.RobertaProcessing(("<|endoftext|>", 50256), ("<|endoftext|>", 50256),
                                                          trim_offsets=True, add_prefix_space=True)
    saved = json.loads(roberta.to_str())
    (ROOT / "gpt2" / "roberta-style-components.json").write_text(
        json.dumps({k: saved[k] for k in ["pre_tokenizer", "post_processor"]}, indent=1) + "\n")
    write("gpt2_roberta_style", ({"ids": e.ids, "type_ids": e.type_ids, "offsets": flat_offsets(e.offsets)}
                                 for e in roberta.encode_batch(list(zip(lines[0::2], lines[1::2])))))
    # Padding: batches of 7 lines padded to their longest (BERT, pad id 0) and to a multiple of 8.
    bert.no_truncation()
    bert.enable_padding(pad_id=0, pad_token="[PAD]", pad_to_multiple_of=8)
    write("wordpiece_padded", ({"ids": e.ids, "attention_mask": e.attention_mask, "offsets": flat_offsets(e.offsets)}
                               for i in range(0, 700, 7) for e in bert.encode_batch(lines[i:i + 7])))
    bert.no_padding()

    tk = [enc.encode(line, allowed_special="all") for line in lines]
    write("gpt2_tiktoken", ({"ids": ids} for ids in tk))
    disagree = sum(1 for a, b in zip(hf, tk) if a.ids != b)

    # Huge inputs, pinned as (token count, CRC-32 of the ids as little-endian int32): the test
    # rebuilds the same strings. "corpus×5" is the corpus joined by spaces, five times over (~10 MB).
    import zlib
    import numpy as np
    joined = " ".join(lines)
    huge = {"a×2^20": "a" * (1 << 20), "space×2^20": " " * (1 << 20), "🥲×2^18": "🥲" * (1 << 18),
            "corpus×5": " ".join([joined] * 5)}
    bert.no_truncation()
    pins = {}
    for name, text in huge.items():
        for model, tok in [("wordpiece", bert), ("gpt2", gpt2)]:
            ids = tok.encode(text).ids
            pins[f"{model} {name}"] = {"count": len(ids), "crc": zlib.crc32(np.array(ids, dtype="<i4").tobytes())}
    (ROOT / "huge_inputs.json").write_text(json.dumps(pins, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(lines)} lines; HF tokenizers and tiktoken disagree on {disagree} GPT-2 lines")


if __name__ == "__main__":
    main()
