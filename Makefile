# Every target creates .venv on first use, so a fresh clone needs nothing but
# Python 3.11+, make and a C compiler (durable-rules builds from source).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow bench lint typecheck check clean examples browser screenshot

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dunning decide --policy rules/lender.yaml --as-of 2026-11-28T10:00:00+08:00 \
		--format table --skip-uncovered examples/portfolio.jsonl
	@echo
	$(BIN)/dunning place --policy rules/lender.yaml --agencies rules/agencies.yaml \
		--placements examples/placements.jsonl --as-of 2026-11-28T10:00:00+08:00 \
		--format table --skip-uncovered examples/portfolio.jsonl
	@echo
	$(BIN)/dunning settle --policy rules/lender.yaml --agencies rules/agencies.yaml \
		--events examples/settlement/events.jsonl --from 2026-10-01 --to 2026-10-31 \
		examples/settlement/ledger.jsonl
	@echo
	@# Exits 1 by design: the example claim has four deliberate mismatches.
	-$(BIN)/dunning reconcile --policy rules/lender.yaml --agencies rules/agencies.yaml \
		--events examples/settlement/events.jsonl --ledger examples/settlement/ledger.jsonl \
		--agency AG-01 --from 2026-10-01 --to 2026-10-31 examples/settlement/claim-AG-01-2026-10.csv
	@echo
	$(BIN)/dunning costs --policy rules/lender.yaml --agencies rules/agencies.yaml \
		--events examples/settlement/events.jsonl --ledger examples/settlement/ledger.jsonl \
		--from 2026-10-01 --to 2026-10-31 --snapshot examples/portfolio.jsonl=2026-10-28 \
		--snapshot examples/portfolio.jsonl=2026-11-28 examples/portfolio.jsonl
	@mkdir -p build/demo
	$(BIN)/dunning decide --policy rules/lender.yaml --as-of 2026-11-28T10:00:00+08:00 \
		--format html --out build/demo/decisions.html --skip-uncovered examples/portfolio.jsonl
	@echo
	@echo "The example portfolio's report: $(abspath build/demo/decisions.html)"

# Debian's Chromium, and CJK fonts for the Chinese pages, for the reports' browser tests
# (docs/reports.md): installed from the system's packages when missing. Where the package
# manager cannot be reached, this says so and the browser tests are skipped with that reason.
browser:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "make browser: installing Debian's chromium and fonts-noto-cjk"; \
		($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install \
			-y -qq chromium fonts-noto-cjk) >/dev/null 2>&1 \
		|| echo "make browser: could not install them; the browser tests will be skipped"; }

# The README's picture of the demo report (docs/demo-report.png), drawn again by Chromium.
screenshot: $(STAMP) browser
	$(BIN)/python tools/screenshot.py --out docs/demo-report.png

# Tests run on every core (pytest-xdist; the Spark tests together on one worker, as a group);
# `make test` finishes in under five minutes on 2 cores.
test: $(STAMP) browser
	$(BIN)/ruff check src tests examples benchmarks tools
	$(BIN)/ruff format --check src tests examples benchmarks tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto --dist loadgroup
	$(BIN)/dunning test --strict rules/

# The long property runs (docs/testing.md): 5,000 generated policies through both engines,
# 1,000 examples for every other property, 1,000 load/decide cycles for the rete engine's memory.
test-slow: $(STAMP) browser
	HYPOTHESIS_PROFILE=slow $(BIN)/python -m pytest -q -n auto --dist loadgroup

# Decision throughput against the hand-written limit, durable-rules and zen-engine (ratios in one
# run; docs/performance.md). BENCH_ARGS="--cases 1000000" for the memory check. Then settling a
# year of payments for 1,000,000 cases and for a tenth of them: peak memory stays flat
# (SETTLE_ARGS="--quick" for 20,000 cases). Then taking a bank's file of 100,000 cases in with two
# backups, against deciding the same file: at least half the speed, flat memory
# (INTAKE_ARGS="--quick" for 5,000 cases). Then auditing a year of events for 100,000 cases and
# for a tenth of them: peak memory stays flat (AUDIT_ARGS="--quick" for 2,000 cases). Then Spark
# on local[2] against `dunning decide --jobs 2` on 100,000 cases: counting, deciding, placing
# (SPARK_ARGS="--quick" for 5,000 cases). Then rendering the decision report of 1,000,000
# decisions in every form against deciding them (REPORT_ARGS="--cases 1000000" decides all of
# them; by default 100,000, the summary scaled tenfold; "--quick" for 5,000).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --out benchmarks/results/latest.json $(BENCH_ARGS)
	$(BIN)/python benchmarks/settle.py --out benchmarks/results/latest-settle.json $(SETTLE_ARGS)
	$(BIN)/python benchmarks/intake.py --out benchmarks/results/latest-intake.json $(INTAKE_ARGS)
	$(BIN)/python benchmarks/audit.py --out benchmarks/results/latest-audit.json $(AUDIT_ARGS)
	$(BIN)/python benchmarks/spark.py --out benchmarks/results/latest-spark.json $(SPARK_ARGS)
	$(BIN)/python benchmarks/report.py --out benchmarks/results/latest-report.json $(REPORT_ARGS)

# Regenerates the shipped example portfolio, its placement events, and the settlement example
# (a year of placements, the payment ledger, an agency's claim) and the agency's month (the
# bank's file, the month's events, the handover sheets, the bank's payments), and the runbook's
# inputs (docs/runbook.md): same bytes every run.
examples: $(STAMP)
	$(BIN)/python examples/generate_portfolio.py --out examples/portfolio.jsonl \
		--placements examples/placements.jsonl
	$(BIN)/python examples/generate_settlement.py --out examples/settlement
	$(BIN)/python examples/generate_agency.py --out examples/agency
	$(BIN)/python examples/generate_runbook.py --out examples/runbook

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build src/*.egg-info
