# Entry points for people and CI. `make demo` runs the main job end to end;
# `make test` runs every test. Both build what they need on a fresh machine.

CARGO ?= cargo
TESTENV := tools/testenv/run.sh

.PHONY: help deps build crds demo demo-up test lint

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## Check the toolchains and install the AWS CLI and boto3 when missing
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (rustup)"; exit 1; }
	@command -v go >/dev/null || { echo "go is missing: install Go 1.26 or newer"; exit 1; }
	@command -v openssl >/dev/null || { echo "openssl is missing: apt-get install openssl"; exit 1; }
	@command -v python3 >/dev/null || { echo "python3 is missing: apt-get install python3"; exit 1; }
	@command -v aws >/dev/null || python3 -m pip install --quiet awscli
	@python3 -c 'import boto3' 2>/dev/null || python3 -m pip install --quiet boto3

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
	$(TESTENV) $(CARGO) test --all-targets

lint: ## Run clippy with warnings as errors
	$(CARGO) clippy --all-targets -- -D warnings
