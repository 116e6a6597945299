# The two commands of the README: `make run` and `make test`.
SWIFT ?= swift

.PHONY: run test deps test-deps build release bench

run: deps
	$(SWIFT) build --product menshen
	.build/debug/menshen serve --demo

# Each fuzz target also runs briefly (FUZZ_CI_SECONDS), so a regression in a parser shows.
FUZZ_CI_SECONDS ?= 30

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel
	scripts/e2e.sh
	scripts/check-deploy.sh
	scripts/eval-gate.sh .build/debug/menshen
	scripts/fuzz.sh $(FUZZ_CI_SECONDS)

deps:
	scripts/install-deps.sh build

test-deps:
	scripts/install-deps.sh test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product menshen

# Lexicon matching and proxy benchmarks against the anchors; writes BENCHMARKS.md.
bench: deps
	Benchmarks/run.sh

# Proxy benchmark: direct vs nginx proxy_pass vs Menshen; writes the proxy section of BENCHMARKS.md.
.PHONY: bench-proxy
bench-proxy:
	Benchmarks/proxy/run.sh

# libFuzzer targets (docs/fuzzing.md): each runs FUZZ_SECONDS; FUZZ_TARGETS picks some (default all).
.PHONY: fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
