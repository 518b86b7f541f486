# The two commands of the README: `make demo` and `make test`. Both work from a fresh clone.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SYSTEM_PACKAGES_DEMO := fonts-noto-cjk
SYSTEM_PACKAGES_TEST := fonts-noto-cjk poppler-utils chromium gettext docker-registry skopeo docker-compose dovecot-imapd postgresql-15 redis-server

.PHONY: demo test install system-deps-demo system-deps-test lint messages clean

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements.lock ".[dev]"
	touch $@

install: $(VENV)/.installed

system-deps-demo:
	@bash docker/ensure-debian-packages.sh $(SYSTEM_PACKAGES_DEMO)

system-deps-test:
	@bash docker/ensure-debian-packages.sh $(SYSTEM_PACKAGES_TEST)

demo: install system-deps-demo
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 PORT=$(PORT) $(PY) manage.py rundemo

test: install system-deps-test
	$(VENV)/bin/pytest -n 2 -p xdist --dist loadgroup $(PYTEST_ARGS)
	# Money must be exact on the embedded database too (SQLite keeps decimals as floating point).
	rm -f var/test-money.sqlite3
	SQLITE_MONEY_RUN=1 DATABASE_URL=sqlite:///$(CURDIR)/var/test-money.sqlite3 \
	  $(VENV)/bin/pytest -p no:xdist -q tests/billing/test_money_exact.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy

messages: install
	# Each app's own catalog; then the project's (portal/ and templates/ into portal/locale). portal is
	# not in the loop: an app-level run there would drop the template strings of its catalog.
	for app in customers editions contracts licenses billing support; do \
	  (cd $$app && DEBUG=1 ../$(VENV)/bin/django-admin makemessages -l zh_Hans --no-obsolete >/dev/null); done
	DEBUG=1 $(PY) manage.py makemessages -l zh_Hans --no-obsolete -i '.venv/*' -i 'var/*' -i 'tests/*' -i 'benchmarks/*'
	DEBUG=1 $(PY) manage.py compilemessages -i .venv

clean:
	rm -rf $(VENV) var
