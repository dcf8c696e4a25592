# Two commands for a fresh machine (Python 3.11+ and Java 17+):
#   make run    install everything into .venv, then run the Day 7 job locally
#   make test   install everything into .venv, then run the whole test suite
# More: make lab (JupyterLab on the course), make doctor, make bench, make clean

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lab doctor bench exercises clean chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python runner.py

# The browser test (tests/teaching/test_lab_browser.py) needs /usr/bin/chromium: installed from Debian
# when we are root; otherwise that test skips and says why.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "no /usr/bin/chromium and not root: the browser test will be skipped"; fi; \
	fi

test: $(STAMP) chromium
	$(BIN)/python -m pytest tests solutions --nbval --nbval-sanitize-with nbval_sanitize.cfg

# course/teaching/lab.py: terminals get the venv's Python, .day7/ opens, widget state is saved
lab: $(STAMP)
	$(BIN)/python -m course.teaching.lab

doctor: $(STAMP)
	$(BIN)/python runner.py doctor

bench: $(STAMP)
	$(BIN)/python bench/bench_generator.py --rows 1M 10M
	$(BIN)/python bench/bench_spark.py
	$(BIN)/python bench/bench_compute.py
	$(BIN)/python bench/bench_runtime_import.py
	$(BIN)/python bench/bench_dbx.py
	$(BIN)/python bench/bench_environments.py
	$(BIN)/python bench/bench_notebook_env.py
	$(BIN)/python bench/bench_runner.py
	$(BIN)/python bench/bench_grade_class.py --learners 30
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_spark_ui.py

exercises: $(STAMP)
	$(BIN)/python runner.py exercises release

clean:
	rm -rf .day7 $(VENV)
