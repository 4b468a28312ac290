# All set-up happens here: `make test` and `make demo` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel where no NVIDIA GPU is present; pyproject keeps `torch>=2.2`.
TORCH_CPU ?= torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: install test demo lint bench slow clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	if command -v nvidia-smi >/dev/null 2>&1; then \
		$(PY) -m pip install -q "torch>=2.2"; \
	else \
		$(PY) -m pip install -q "$(TORCH_CPU)"; \
	fi
	$(PY) -m pip install -q -e ".[test,plot]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(PY) -m skae.demo

lint: install
	$(VENV)/bin/ruff check skae tests benchmarks

bench: install
	$(PY) benchmarks/bench_core.py

slow: install
	$(PY) -m pytest -m slow

# The HTML docs, gallery examples executed, warnings as errors; offline.
# -E re-reads every page (a saved environment can hold stale warnings);
# examples are re-run only when their source changed (sphinx-gallery MD5s).
.PHONY: docs
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	$(VENV)/bin/sphinx-build -E -W --keep-going -b html docs docs/_build/html

# Property-based tests at full strength: 2,000 examples per test, with the
# examples counted and the outcomes tallied (tests/test_fuzz.py).
.PHONY: fuzz
fuzz: install
	SKAE_FUZZ_PROFILE=fuzz $(PY) -m pytest tests/test_fuzz.py -p no:xdist \
		--hypothesis-show-statistics

clean:
	rm -rf $(VENV) build *.egg-info
