# HRL Imperviousness QGIS plugin. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON := .venv/bin/python
CHECK_PYTHON := $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
PLUGIN := imperviousness_plugin
VERSION := $(shell sed -n 's/^version=//p' metadata.txt)
export QT_QPA_PLATFORM := offscreen
# Our kernels thread themselves; see scripts/qgis_process.
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONPATH := $(CURDIR)

.PHONY: setup test demo bench bench-tile package clean

setup:
	@bash scripts/setup.sh

test: setup
	$(PYTHON) -m pytest tests

demo: setup
	$(PYTHON) scripts/demo.py build/demo

bench: setup
	$(PYTHON) benchmarks/run_all.py

# One whole Sentinel-2 tile (10980 px, both years) through the whole model: generates ~6 GB of
# scenes once under build/bench (BENCH_TILE_ROOT elsewhere), needs ~50 GB free (inputs + ~43 GB for
# the run), runs ~50 min on 2 cores.
bench-tile: setup
	$(PYTHON) benchmarks/bench_tile.py

# A zip that QGIS's plugin manager and the QGIS plugin repository accept: the plugin folder with
# metadata.txt, LICENSE, requirements.txt and models inside (links resolved), then the repository's
# checks (tools/plugin_checks.py): its validator, Bandit and detect-secrets. No setup: the zip is
# the same for every QGIS; the checks need bandit and detect-secrets (in .venv after `make setup`).
package:
	rm -rf build/package && mkdir -p build/package dist
	cp -rL $(PLUGIN) build/package/$(PLUGIN)
	find build/package -name '__pycache__' -prune -exec rm -rf {} +
	cd build/package && rm -f ../../dist/$(PLUGIN)-$(VERSION).zip && zip -qr -X ../../dist/$(PLUGIN)-$(VERSION).zip $(PLUGIN)
	@echo "dist/$(PLUGIN)-$(VERSION).zip"
	$(CHECK_PYTHON) tools/plugin_checks.py dist/$(PLUGIN)-$(VERSION).zip

clean:
	rm -rf build dist .pytest_cache
