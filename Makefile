# yizhan: two commands.
#   make run   - set up a virtualenv, install, build what is missing, serve http://127.0.0.1:8000 (waitress)
#   make test  - set up the virtualenv with test extras and the system packages the tests need, run pytest
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Debian packages: headless Chromium for browser tests, CJK fonts for PDF sheets, poppler for pdftotext/pdftoppm,
# postgresql for its server binaries only (the registry tests start a throwaway cluster of their own on a free port).
# apt waits up to 10 minutes for another install's lock (DPkg::Lock::Timeout) instead of failing at once.
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils postgresql
PYTEST_ARGS ?=

.PHONY: run test venv test-venv system-deps db bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e ".[test]"
	touch $@

venv: $(VENV)/.installed
test-venv: $(VENV)/.installed-test

db: venv
	$(VENV)/bin/yizhan init-db

# the address is YIZHAN_HOST / YIZHAN_PORT (default 127.0.0.1:8000), read by `yizhan serve` from the settings;
# `yizhan serve` starts the job workers (YIZHAN_WORKERS, default 2) beside the web server. PROCESSES=4 runs four web
# processes (gunicorn).
PROCESSES ?= 1
run: venv db
	$(VENV)/bin/yizhan serve --processes $(PROCESSES)

system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || missing="$$missing fonts-noto-cjk"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: test-venv system-deps
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# wrk (Debian) drives bench_finder's HTTP figures; without it the benchmark's own Python client does
bench: venv
	@command -v wrk >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null 2>&1 || true; }
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info test-artifacts
