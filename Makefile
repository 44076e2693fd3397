# Entry points for people and CI. `make demo` runs the main job end to end;
# `make test` runs every test. Both build what they need on a fresh machine.

CARGO ?= cargo
TESTENV := tools/testenv/run.sh
# Debian's own Python refuses plain `pip install` (PEP 668); there the AWS CLI and boto3,
# which the tests run, go into the user's site-packages instead.
pip_install = python3 -m pip install --quiet $(1) 2>/dev/null || python3 -m pip install --quiet --user --break-system-packages $(1)
# `pip install --user` puts commands here.
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help deps build crds demo demo-up test bench-scale lint

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## Check the toolchains; install the AWS CLI and boto3 when missing
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (rustup)"; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "rustfmt is missing: rustup component add rustfmt"; exit 1; }
	@command -v go >/dev/null || { echo "go is missing: install Go 1.26 or newer"; exit 1; }
	@for tool in openssl python3 curl; do \
	  command -v $$tool >/dev/null || { echo "$$tool is missing: apt-get install $$tool"; exit 1; }; \
	done
	@command -v aws >/dev/null || $(call pip_install,awscli)
	@python3 -c 'import boto3' 2>/dev/null || $(call pip_install,boto3)

build: deps ## Build the operator and the control-plane binaries
	$(CARGO) build --bins
	tools/testenv/build.sh >/dev/null

crds: ## Regenerate crds/ and the chart's copy from the Rust types
	$(CARGO) run --quiet -- crds > crds/ivschat.operators.dev.yaml
	cp crds/ivschat.operators.dev.yaml charts/ivschat-operator/files/crds/

demo: build ## Run the main job end to end, then stop everything
	$(TESTENV) tools/demo.sh

demo-up: build ## Like demo, but keep the stack running until Ctrl-C
	$(TESTENV) tools/demo.sh --keep

test: deps ## Run every test on a local control plane and the local IVS Chat service
	$(CARGO) fmt --check
	$(CARGO) build --all-targets
	tools/testenv/build.sh >/dev/null
	$(TESTENV) $(CARGO) test --all-targets --no-fail-fast

# Runs of the scale benchmark: N rooms at the real quotas, or N@S at S times the quotas.
BENCH_RUNS ?= 100 1000 10000@10

bench-scale: deps ## Benchmark the operator with 100, 1,000 and 10,000 rooms (about 40 minutes)
	$(CARGO) bench --bench scale --no-run
	tools/testenv/build.sh >/dev/null
	IVSCHAT_BENCH_RUNS="$(BENCH_RUNS)" $(TESTENV) $(CARGO) bench --bench scale

lint: ## Run clippy with warnings as errors
	$(CARGO) clippy --all-targets -- -D warnings
