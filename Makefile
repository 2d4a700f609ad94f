# layerguard: the two fresh-machine commands are `make preview` and `make test`.
PYTHON ?= python3
STACK ?= dev
STAMP := .setup.stamp

.PHONY: setup preview preview-all test bench rules clean

# Installs the pinned Python packages (into the active virtualenv, if any), Debian's nginx, which
# the node-configuration tests run for real, and Graphviz, which draws `preview --diagram`.
$(STAMP): requirements.txt requirements-dev.txt policy/requirements.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policy/requirements.txt
	@tools/install-nginx
	@tools/install-graphviz
	@touch $(STAMP)

setup: $(STAMP)

preview: $(STAMP)
	$(PYTHON) -m layerguard preview --stack $(STACK)

preview-all: $(STAMP)
	for s in dev staging prod; do $(PYTHON) -m layerguard preview --stack $$s || exit $$?; done

test: $(STAMP)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q

bench: $(STAMP)
	$(PYTHON) bench/run.py

rules: $(STAMP)
	cd policy && $(PYTHON) gen_rules.py

clean:
	rm -f $(STAMP)
