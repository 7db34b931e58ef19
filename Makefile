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

# coverage-guided fuzzing (atheris) of every parser of device output and every file loader, FUZZ_RUNS inputs each,
# FUZZ_JOBS targets side by side, at low priority (README "Reliability"); FUZZ_ARGS passes options of
# tests/reliability/fuzz.py, e.g. FUZZ_ARGS="-k fact:sshd" for some targets. The report: fuzz-report.json
FUZZ_RUNS ?= 100000
FUZZ_JOBS ?= 2
FUZZ_ARGS ?=
fuzz: $(STAMP)
	nice -n 10 $(BIN)/python tests/reliability/fuzz.py --runs $(FUZZ_RUNS) --jobs $(FUZZ_JOBS) $(FUZZ_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py

clean:
	rm -rf $(VENV) demo-out bench/out build *.egg-info
