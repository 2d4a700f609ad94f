# layerguard: the two fresh-machine commands are `make preview` and `make test`.
PYTHON ?= python3
STACK ?= dev
STAMP := .setup.stamp

.PHONY: setup bytecode preview preview-all test bench rules clean

# Installs the pinned Python packages (into the active virtualenv, if any), Debian's nginx, which
# the node-configuration tests run for real, and Graphviz, which draws `preview --diagram`.
$(STAMP): requirements.txt requirements-dev.txt policy/requirements.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r policy/requirements.txt
	@tools/install-nginx
	@tools/install-graphviz
	@touch $(STAMP)

setup: $(STAMP)

# Byte-compile the project's own modules. Where PYTHONDONTWRITEBYTECODE is set (it is on our
# machines and CI) Python never caches them, and every language host and policy pack process would
# compile the program and the pack again (about 0.1 s a process). Up-to-date files are skipped;
# a file edited later is simply compiled in memory again, as without this step.
bytecode:
	@$(PYTHON) -m compileall -q -j 0 layerguard policy components tests bench __main__.py > /dev/null

preview: $(STAMP) bytecode
	$(PYTHON) -m layerguard preview --stack $(STACK)

preview-all: $(STAMP) bytecode
	for s in dev staging prod; do $(PYTHON) -m layerguard preview --stack $$s || exit $$?; done

test: $(STAMP) bytecode
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q

bench: $(STAMP) bytecode
	$(PYTHON) bench/run.py

rules: $(STAMP)
	cd policy && $(PYTHON) gen_rules.py

clean:
	rm -f $(STAMP)
