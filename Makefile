# Two commands on a fresh machine with only Python and make:
#   make demo   set up .venv, install mactl, run the whole job on sample_data/
#   make test   set up .venv if needed and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB ?= demo/mactl.duckdb

.PHONY: demo test venv lint sample-data bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf demo
	mkdir -p demo
	$(BIN)/mactl --db $(DEMO_DB) run recipes/demo.yaml --as-of 2026-12-01 --log demo/run.log
	$(BIN)/mactl --db $(DEMO_DB) merge review --out demo/review.xlsx
	@echo
	@echo "Workspace: $(DEMO_DB)"
	@echo "Outputs:   $$(ls -d demo/out/*/) (people.xlsx, assignments/, send_email_all.csv, report.xlsx)"
	@echo "Try:       $(BIN)/mactl --db $(DEMO_DB) report    or    $(BIN)/mactl --db $(DEMO_DB) merge explain P000001"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Regenerate sample_data/ from the deterministic generator (the files are committed).
sample-data: $(STAMP)
	$(BIN)/python -m benchmarks.datagen --people 300 --seed 7 --out sample_data --truth tests/data/sample_truth.csv

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --records 1000000

clean:
	rm -rf $(VENV) demo build *.egg-info .pytest_cache
