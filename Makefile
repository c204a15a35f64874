# Every target that needs Python creates or updates its own virtual environment first,
# so `make demo` and `make test` are the whole set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
BQ_VENV := .venv-bq
KATIB_VENV := .venv-katib
SERVICE_TESTS := tests/katib/suggestion
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: all venv test test-main test-katib lint demo bench images compile manifests clean

all: test

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) -c constraints.txt -e ".[dev]"
	touch $@

# The BigQuery emulator cannot share the main environment (see docs/dependencies.md).
$(BQ_VENV)/.installed: tests/envs/bqemulator.txt
	test -x $(BQ_VENV)/bin/python || $(PYTHON) -m venv $(BQ_VENV)
	$(BQ_VENV)/bin/pip install $(PIP_FLAGS) -r tests/envs/bqemulator.txt
	touch $@

# The Katib gRPC stubs (kubeflow-katib) pin protobuf<5, which kfp cannot live with.
$(KATIB_VENV)/.installed: images/katib-suggestion/requirements.txt
	test -x $(KATIB_VENV)/bin/python || $(PYTHON) -m venv $(KATIB_VENV)
	$(KATIB_VENV)/bin/pip install $(PIP_FLAGS) -r images/katib-suggestion/requirements.txt pytest pytest-timeout
	touch $@

venv: $(BIN)/.installed $(BQ_VENV)/.installed $(KATIB_VENV)/.installed

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test-main: $(BIN)/.installed $(BQ_VENV)/.installed
	$(BIN)/python -m pytest --ignore=$(SERVICE_TESTS) $(PYTEST_ARGS)

test-katib: $(KATIB_VENV)/.installed
	PYTHONPATH=$(CURDIR) $(KATIB_VENV)/bin/python -m pytest -p no:cacheprovider $(SERVICE_TESTS) $(PYTEST_ARGS)

test: lint test-main test-katib

demo: $(BIN)/.installed
	$(BIN)/kwp demo

compile: $(BIN)/.installed
	$(BIN)/kwp compile --out dist

manifests: $(BIN)/.installed
	$(BIN)/kwp manifests --out manifests --overwrite

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/run_all.py --readme README.md

IMAGE_REGISTRY ?= ghcr.io/kubeflow-warehouse-pipelines
IMAGE_TAG ?= 0.1.0
images:
	docker build -f images/runtime/Dockerfile -t $(IMAGE_REGISTRY)/kwp-runtime:$(IMAGE_TAG) .
	docker build -f images/trainer/Dockerfile -t $(IMAGE_REGISTRY)/kwp-trainer:$(IMAGE_TAG) .
	docker build -f images/katib-suggestion/Dockerfile -t $(IMAGE_REGISTRY)/kwp-hyperband-suggestion:$(IMAGE_TAG) .
	docker build -f images/darts-trial/Dockerfile -t $(IMAGE_REGISTRY)/kwp-darts-trial:$(IMAGE_TAG) .

clean:
	rm -rf $(VENV) $(BQ_VENV) $(KATIB_VENV) dist .pytest_cache
