#!/usr/bin/env bash
# Builds a libFuzzer binary per reader (safetensors, zip/npz, npy, PyTorch's zip, GGUF, and the pickle
# machine on raw data.pkl bytes) with AddressSanitizer and runs
# each for $1 seconds (default 600; FUZZ_RUNS=N runs N inputs instead), seeded with the fixtures. Crashes land in .cache/fuzz/artifacts/;
# each one found must be fixed and added to fixtures/formats/malformed/ (a pickle to
# fixtures/pytorch/fuzz-found/). FUZZ_TARGETS picks a subset.
set -euo pipefail
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
sources=$(find "$out/src" -name '*.swift' | sort)
targets=${FUZZ_TARGETS:-"SafeTensors Zip NPY Pickle PyTorch GGUF"}
for target in $targets; do
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name TensorFormats -package-name ckpt \
    -I Sources/CZlib -I "$out/ckernels" $sources tools/fuzz/FuzzSupport.swift "tools/fuzz/${target}Fuzz.swift" \
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
seed "$work/PyTorch" $(find fixtures/pytorch -name '*.bin' -size -60k)
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
if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS" span="$FUZZ_RUNS runs"; else limit="-max_total_time=$seconds" span="${seconds}s"; fi
status=0
for target in $targets; do
  echo "== fuzzing $target for $span"
  "$out/fuzz-$target" "$work/$target" "$limit" -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1 2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|Done" || status=1
done
exit $status
