# The two commands a fresh clone needs: `make demo` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/iacs-audit demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q

# the property tests of every parser and file loader with FUZZ_EXAMPLES random inputs each (README "Reliability");
# FUZZ_ARGS passes pytest options, e.g. FUZZ_ARGS="-k kexinit" for one parser
FUZZ_EXAMPLES ?= 100000
FUZZ_ARGS ?=
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz IACS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q --durations=0 --hypothesis-show-statistics $(FUZZ_ARGS) \
		tests/reliability/test_fuzz_facts.py tests/reliability/test_fuzz_parsers.py

bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py

clean:
	rm -rf $(VENV) demo-out bench/out build *.egg-info
