# HRL Imperviousness QGIS plugin. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON := .venv/bin/python
PLUGIN := imperviousness_plugin
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
export QT_QPA_PLATFORM := offscreen
# Our kernels thread themselves; see scripts/qgis_process.
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONPATH := $(CURDIR)

.PHONY: setup test demo bench package resources clean

setup:
	@bash scripts/setup.sh

test: setup
	$(PYTHON) -m pytest tests

demo: setup
	$(PYTHON) scripts/demo.py build/demo

bench: setup
	$(PYTHON) benchmarks/run_all.py

# pyrcc5 embeds the icon's modification time, so resources.py is regenerated only on request
# (`make resources` after changing resources.qrc or the icon), never as a side effect of a build.
resources: setup
	pyrcc5 -o $(PLUGIN)/resources.py resources.qrc
	sed -i 's/^from PyQt5 import QtCore/from qgis.PyQt import QtCore/' $(PLUGIN)/resources.py

# A zip that QGIS's plugin manager installs: the plugin folder with metadata.txt and models inside.
package: setup
	rm -rf build/package && mkdir -p build/package dist
	cp -rL $(PLUGIN) build/package/$(PLUGIN)
	find build/package -name '__pycache__' -prune -exec rm -rf {} +
	cd build/package && rm -f ../../dist/$(PLUGIN)-$(VERSION).zip && zip -qr -X ../../dist/$(PLUGIN)-$(VERSION).zip $(PLUGIN)
	@echo "dist/$(PLUGIN)-$(VERSION).zip"

clean:
	rm -rf build dist .pytest_cache
