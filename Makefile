# All set-up happens here: `make test` and `make demo` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel where no NVIDIA GPU is present; pyproject keeps `torch>=2.2`.
TORCH_CPU ?= torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: install test demo lint bench slow dist clean

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
	$(VENV)/bin/ruff check skae tests benchmarks examples

# Speed and quality against the baselines, measured in the same run.
bench: install
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_pca.py
	$(PY) benchmarks/bench_stopping.py
	$(PY) benchmarks/bench_outliers.py
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_fewlabel.py
	$(PY) benchmarks/bench_threads.py
	$(PY) benchmarks/bench_speed.py
	$(PY) benchmarks/bench_precision.py --quick

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

# The sdist and the wheel into dist/, checked by twine; then the wheel alone
# in a fresh virtual environment (PyTorch first, as in `install`), imported
# from outside the clone and fitted once.
DIST_CHECK := import warnings, numpy as np, skae; \
	warnings.simplefilter("ignore"); \
	X = np.random.default_rng(0).normal(size=(100, 8)).astype(np.float32); \
	est = skae.AutoEncoderTransformer(n_components=2, max_iter=5, random_state=0); \
	codes = est.fit(X).transform(X); \
	assert codes.shape == (100, 2) and np.isfinite(codes).all(); \
	print("skae", skae.__version__, "from", skae.__file__, "codes", codes.shape)

dist: install
	$(PY) -m pip install -q build twine
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	python3 -m venv "$$tmp/venv" && \
	if command -v nvidia-smi >/dev/null 2>&1; then \
		"$$tmp/venv/bin/pip" install -q "torch>=2.2"; \
	else \
		"$$tmp/venv/bin/pip" install -q "$(TORCH_CPU)"; \
	fi && \
	"$$tmp/venv/bin/pip" install -q dist/*.whl && \
	cd "$$tmp" && "$$tmp/venv/bin/python" -c '$(DIST_CHECK)'

clean:
	rm -rf $(VENV) build dist *.egg-info
