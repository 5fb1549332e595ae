# Stratus: `make aio` brings up the all-in-one cloud, `make test` runs every check.
# Both install what they need first (Debian packages, then .venv/); a second run
# skips the installs that are already done.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := $(CURDIR)/.venv
PY      := $(VENV)/bin/python
STAMPS  := $(CURDIR)/.stamps
PYTEST_ARGS ?=

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help deps test lint unit pytest aio aio-clean images bench clean

help:
	@echo "make aio        bring up the all-in-one cloud on this host and show it working"
	@echo "make aio-clean  remove what 'make aio' made"
	@echo "make test       install what is missing, then ruff, ansible-lint and pytest"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make images     build the tiny guest image (cached)"

deps: $(STAMPS)/apt $(STAMPS)/venv

# Debian packages: apt-get runs only when something in apt-packages.txt is missing.
$(STAMPS)/apt: apt-packages.txt tools/apt-install
	tools/apt-install apt-packages.txt
	@mkdir -p $(STAMPS) && touch $@

# The venv sits on Debian's python3 so that python3-libvirt is importable, as on hosts.
$(STAMPS)/venv: requirements.txt test-requirements.txt constraints.txt pyproject.toml $(STAMPS)/apt
	test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements.txt -r test-requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@mkdir -p $(STAMPS) && touch $@

images: deps
	$(PY) tools/build_guest_image.py

# ansible-lint gets an Ansible home of its own: a stratus.cloud that molecule or
# ansible-galaxy installed in ~/.ansible/collections would be linted in place of this
# checkout's.
lint: deps
	ruff check .
	ANSIBLE_HOME=$(CURDIR)/.ansible ansible-lint --offline

pytest: deps images
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint pytest

# One line per step and the total time (AIO_CALLBACK=default: Ansible's own output);
# facts are gathered once per host (smart), not once per play.
aio: deps images
	ANSIBLE_STDOUT_CALLBACK=$${AIO_CALLBACK:-stratus.cloud.aio_progress} ANSIBLE_GATHERING=smart \
	  ansible-playbook -i inventories/aio playbooks/aio.yml

aio-clean: deps
	ANSIBLE_STDOUT_CALLBACK=$${AIO_CALLBACK:-stratus.cloud.aio_progress} ANSIBLE_GATHERING=smart \
	  ansible-playbook -i inventories/aio playbooks/aio-clean.yml

bench: deps images
	$(PY) bench/run.py

clean:
	rm -rf $(STAMPS) build .pytest_cache .ruff_cache
