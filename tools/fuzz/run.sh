#!/usr/bin/env bash
# Builds a libFuzzer binary per reader (safetensors, zip/npz, npy, PyTorch's zip, GGUF, the pickle
# machine on raw data.pkl bytes, and the tokenizer file loaders) with AddressSanitizer and runs
# each for $1 seconds (default 600; FUZZ_RUNS=N runs N inputs instead), seeded with the fixtures. Crashes land in .cache/fuzz/artifacts/;
# each one found must be fixed and added to fixtures/formats/malformed/ (a pickle to
# fixtures/pytorch/fuzz-found/). FUZZ_TARGETS picks a subset.
set -euo pipefail
# A Swift runtime failure is libFuzzer's to report: Swift's own backtracer waits on it otherwise.
export SWIFT_BACKTRACE=enable=no
seconds=${1:-600}
cd "$(dirname "$0")/../.."
out=.build/fuzz
work=.cache/fuzz
mkdir -p "$out" "$work/artifacts"
# The readers and the foundation they stand on (CkptSupport, and the C kernels it calls) build as one
# module: their sources are copied without `import CkptSupport`, and names qualified by that module are
# qualified by this one.
rm -rf "$out/src" && mkdir -p "$out/src" "$out/ckernels" "$out/objects"
for f in $(find Sources/CkptSupport Sources/TensorFormats -name '*.swift'); do
  sed -e '/^import CkptSupport$/d' -e 's/CkptSupport\./TensorFormats./g' "$f" > "$out/src/$(echo "$f" | tr / _)"
done
printf 'module CKernels {\n  header "%s/Sources/CKernels/include/ckernels.h"\n  export *\n}\n' "$PWD" > "$out/ckernels/module.modulemap"
for f in Sources/CKernels/*.c; do clang -O2 -c "$f" -I Sources/CKernels/include -o "$out/objects/$(basename "$f" .c).o"; done
# The tokenizer loaders build the same way, as one module with the foundation.
rm -rf "$out/tokenizer-src" && mkdir -p "$out/tokenizer-src"
for f in $(find Sources/CkptSupport Sources/Tokenizers -name '*.swift'); do
  sed -e '/^import CkptSupport$/d' -e 's/CkptSupport\./Tokenizers./g' "$f" > "$out/tokenizer-src/$(echo "$f" | tr / _)"
done
sources=$(find "$out/src" -name '*.swift' | sort)
targets=${FUZZ_TARGETS:-"SafeTensors Zip NPY Pickle PyTorch GGUF TokenizerFiles"}
for target in $targets; do
  if [ "$target" = TokenizerFiles ]; then
    module=Tokenizers files="$(find "$out/tokenizer-src" -name '*.swift' | sort)"
  else
    module=TensorFormats files="$sources tools/fuzz/FuzzSupport.swift"
  fi
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name $module -package-name ckpt \
    -I Sources/CZlib -I "$out/ckernels" $files "tools/fuzz/${target}Fuzz.swift" \
    "$out"/objects/*.o -lz -o "$out/fuzz-$target" 2> "$out/build-$target.log" || { cat "$out/build-$target.log"; exit 1; }
done
seed() {  # corpus dir, file patterns...
  local dir=$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/" || true; done
}
seed "$work/SafeTensors" fixtures/formats/valid/*.safetensors fixtures/formats/valid/sharded/*.safetensors fixtures/formats/malformed/*.safetensors
seed "$work/Zip" fixtures/formats/valid/*.npz fixtures/formats/malformed/*.npz
seed "$work/GGUF" fixtures/gguf/valid/*.gguf fixtures/gguf/malformed/*.gguf
mkdir -p "$work/NPY"
python3 - "$work/NPY" fixtures/formats/valid/*.npz <<'PY'
import sys, zipfile, pathlib
out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    with zipfile.ZipFile(path) as z:
        for i, name in enumerate(z.namelist()):
            (out / f"{pathlib.Path(path).stem}-{i}.npy").write_bytes(z.read(name))
PY
# Small archives only: an input is read whole on every run, and the large ones cost a run each
# what a dozen small ones do, over the same code.
seed "$work/PyTorch" $(find fixtures/pytorch -name '*.bin' -size -12k)
mkdir -p "$work/Pickle"
python3 - "$work/Pickle" $(find fixtures/pytorch -name '*.bin' -size -2M) <<'PY'
import sys, zipfile, pathlib
out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith("/data.pkl") and z.getinfo(name).file_size < 65536:
                    try:  # the malformed fixtures include archives whose members do not read back
                        data = z.read(name)
                    except (zipfile.BadZipFile, OSError):
                        continue
                    (out / f"{pathlib.Path(path).parent.name}-{pathlib.Path(path).stem}.pkl").write_bytes(data)
PY
seed "$work/Pickle" fixtures/pytorch/fuzz-found/*.pkl
# Tokenizer files cut to a couple of hundred tokens (small inputs keep the runs fast), each behind
# the byte that picks its loader.
mkdir -p "$work/TokenizerFiles"
python3 - "$work/TokenizerFiles" fixtures/tokenizers <<'PY'
import json, sys, pathlib
out, root = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
minilm, gpt2 = root / "minilm", root / "gpt2"
# WordPiece: the special tokens, some characters, some words and continuations, renumbered densely.
lines = (minilm / "vocab.txt").read_text(encoding="utf-8").split("\n")
wordpiece = [lines[i] for i in [0, 100, 101, 102, 103] + list(range(1000, 1060)) + list(range(1996, 2040)) + list(range(2200, 2210))]
wordpiece += [t for t in lines if t.startswith("##")][:40]
doc = json.loads((minilm / "tokenizer.json").read_text(encoding="utf-8"))
doc["model"]["vocab"] = {t: i for i, t in enumerate(wordpiece)}
doc["added_tokens"] = [dict(t, id=wordpiece.index(t["content"])) for t in doc["added_tokens"] if t["content"] in wordpiece]
for special in doc["post_processor"]["special_tokens"].values():
    special["ids"] = [wordpiece.index(t) for t in special["tokens"]]
(out / "wordpiece.json").write_bytes(b"\x00" + json.dumps(doc).encode())
(out / "vocab.txt").write_bytes(b"\x01" + "\n".join(wordpiece).encode())
(out / "vocab-lower.txt").write_bytes(b"\x05" + "\n".join(wordpiece).encode())
# Byte-level BPE: the 256 byte tokens and the merges among the first 300 ids.
doc = json.loads((gpt2 / "tokenizer.json").read_text(encoding="utf-8"))
vocab = {t: i for t, i in doc["model"]["vocab"].items() if i < 300}
pairs = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
doc["model"]["vocab"] = vocab
doc["model"]["merges"] = [m for m in pairs if all(p in vocab for p in m.split(" ")) and m.replace(" ", "") in vocab]
doc["added_tokens"] = []
(out / "bpe.json").write_bytes(b"\x00" + json.dumps(doc).encode())
merges = "\n".join(["#version: 0.2"] + doc["model"]["merges"])
(out / "vocab-merges").write_bytes(b"\x02" + json.dumps(vocab).encode() + b"\x00" + merges.encode())
ranks = (gpt2 / "gpt2.tiktoken").read_bytes().split(b"\n")[:300]
(out / "ranks.tiktoken").write_bytes(b"\x03" + b"\n".join(ranks))
modes = {".json": b"\x00", ".txt": b"\x01", ".tiktoken": b"\x03"}  # inputs the fuzzer found
for found in (root / "fuzz-found").glob("*"):
    if found.suffix in modes and found.name != "expected.json":
        (out / ("found-" + found.name)).write_bytes(modes[found.suffix] + found.read_bytes())
PY
if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS" span="$FUZZ_RUNS runs"; else limit="-max_total_time=$seconds" span="${seconds}s"; fi
status=0
for target in $targets; do
  echo "== fuzzing $target for $span"
  if [ "$target" = PyTorch ]; then max_len=12288; else max_len=65536; fi
  "$out/fuzz-$target" "$work/$target" "$limit" -rss_limit_mb=4096 -max_len=$max_len \
    -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1 2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|Done" || status=1
done
exit $status
