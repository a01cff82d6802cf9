#!/usr/bin/env bash
# GPT-2's BPE ranks: whisper/assets/gpt2.tiktoken from the openai-whisper sdist on PyPI (pip download only).
set -euo pipefail
dest=${1:?usage: fetch_gpt2_ranks.sh DEST}
[ -f "$dest" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" openai-whisper
tar -xzf "$tmp"/openai_whisper-*.tar.gz -C "$tmp" --wildcards '*/whisper/assets/gpt2.tiktoken'
mkdir -p "$(dirname "$dest")"
cp "$tmp"/openai_whisper-*/whisper/assets/gpt2.tiktoken "$dest"
