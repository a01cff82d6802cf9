#!/usr/bin/env bash
# Builds a libFuzzer binary per reader (safetensors, zip/npz, npy, PyTorch's zip, and the pickle
# machine on raw data.pkl bytes) with AddressSanitizer and runs
# each for $1 seconds (default 600), seeded with the fixtures. Crashes land in .cache/fuzz/artifacts/;
# each one found must be fixed and added to fixtures/formats/malformed/ (a pickle to
# fixtures/pytorch/fuzz-found/). FUZZ_TARGETS picks a subset.
set -euo pipefail
seconds=${1:-600}
cd "$(dirname "$0")/../.."
out=.build/fuzz
work=.cache/fuzz
mkdir -p "$out" "$work/artifacts"
sources=$(find Sources/TensorFormats -name '*.swift' | sort)
targets=${FUZZ_TARGETS:-"SafeTensors Zip NPY Pickle PyTorch"}
for target in $targets; do
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name TensorFormats \
    -I Sources/CZlib $sources tools/fuzz/FuzzSupport.swift "tools/fuzz/${target}Fuzz.swift" -lz \
    -o "$out/fuzz-$target" 2> "$out/build-$target.log" || { cat "$out/build-$target.log"; exit 1; }
done
seed() {  # corpus dir, file patterns...
  local dir=$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/" || true; done
}
seed "$work/SafeTensors" fixtures/formats/valid/*.safetensors fixtures/formats/valid/sharded/*.safetensors fixtures/formats/malformed/*.safetensors
seed "$work/Zip" fixtures/formats/valid/*.npz fixtures/formats/malformed/*.npz
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
                    (out / f"{pathlib.Path(path).parent.name}-{pathlib.Path(path).stem}.pkl").write_bytes(z.read(name))
PY
seed "$work/Pickle" fixtures/pytorch/fuzz-found/*.pkl
status=0
for target in $targets; do
  echo "== fuzzing $target for ${seconds}s"
  "$out/fuzz-$target" "$work/$target" -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1 2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|ERROR|SUMMARY|Done" || status=1
done
exit $status
