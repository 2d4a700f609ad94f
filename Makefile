# layerguard: the two fresh-machine commands are `make preview` and `make test`.
# Everything runs in the project virtualenv .venv, made with the PYTHON given (default python3;
# `make PYTHON=/usr/bin/python3.12 setup` for another one): Debian's system Python refuses pip
# installs (PEP 668), and `pulumi up` runs the program and the pack in the same .venv (Pulumi.yaml
# and policy/PulumiPolicy.yaml name it). `make clean` removes it (do that first to switch an existing
# .venv to another PYTHON: an existing one is kept).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.setup.stamp

.PHONY: setup bytecode preview preview-all test bench rules clean

$(PY):
	@tools/make-venv $(PYTHON) $(VENV)

# Installs the pinned Python packages into .venv, Debian's nginx, which the node-configuration
# tests run for real, and Graphviz, which draws `preview --diagram`.
$(STAMP): $(PY) requirements.txt requirements-dev.txt policy/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policy/requirements.txt
	@tools/install-nginx
	@tools/install-graphviz
	@touch $(STAMP)

setup: $(STAMP)

# Byte-compile the project's own modules. Where PYTHONDONTWRITEBYTECODE is set (it is on our
# machines and CI) Python never caches them, and every language host and policy pack process would
# compile the program and the pack again (about 0.1 s a process). Up-to-date files are skipped;
# a file edited later is simply compiled in memory again, as without this step.
bytecode: $(PY)
	@$(PY) -m compileall -q -j 0 layerguard policy components tests bench __main__.py > /dev/null

preview: $(STAMP) bytecode
	$(PY) -m layerguard preview --stack $(STACK)

preview-all: $(STAMP) bytecode
	for s in dev staging prod; do $(PY) -m layerguard preview --stack $$s || exit $$?; done

test: $(STAMP) bytecode
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(STAMP) bytecode
	$(PY) bench/run.py

rules: $(STAMP)
	cd policy && ../$(PY) gen_rules.py

clean:
	rm -rf $(VENV) .setup.stamp
