#!/usr/bin/env bash
# Inside a Debian root file system (run by .ci/in_rootfs.sh): install the packaged plugin as a
# user does, then run the suite, the demo and the installed-provider checks on this QGIS.
# Usage: suite.sh ZIP MODE   (MODE: full = the whole suite; qgis = the QGIS-facing tests;
#   anything else: the test files or node ids it lists, separated by spaces)
# Results (logs, the demo's products) go to /ci/results.
set -euo pipefail
ZIP="$1" MODE="${2:-full}"
cd /ci/repo
RESULTS=/ci/results
phase() { echo "[ci $(date -u +%H:%M:%S)] $*"; }

PYVER="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
QGIS_VERSION="$(python3 -c 'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)')"
phase "QGIS $QGIS_VERSION, Python $PYVER, $(python3 -c 'import numpy, osgeo; print("numpy", numpy.__version__, "GDAL", osgeo.__version__)')"

# A fresh profile with the zip unpacked into its plugin folder and the plugin enabled, as the
# plugin manager's "Install from ZIP" leaves it.
CONFIG=/ci/qgis-config
PROFILE="$CONFIG/profiles/default"
DEPS="$PROFILE/python/dependencies/$PYVER"      # qpip's folder for this Python
mkdir -p "$PROFILE/python/plugins" "$PROFILE/QGIS"
unzip -q "$ZIP" -d "$PROFILE/python/plugins"
printf '[PythonPlugins]\nimperviousness_plugin=true\n' > "$PROFILE/QGIS/QGIS3.ini"
PLUGIN="$PROFILE/python/plugins/imperviousness_plugin"

# The plugin's requirements.txt the qpip way (qpip_install.py says how); the optional extras the
# suite uses (numba, STAC, Dask) the same way.
phase "requirements (qpip)"
python3 .ci/qpip_install.py "$PLUGIN/requirements.txt" "$DEPS" 2>&1 | grep -v "^WARNING: Running pip as the 'root'"
python3 .ci/qpip_install.py .ci/requirements-extras.txt "$DEPS" 2>&1 | grep -v "^WARNING: Running pip as the 'root'"

# Test-side packages in a venv over Debian's Python (its QGIS, GDAL, numpy, SciPy, torch).
phase "test venv"
python3 -m venv --system-site-packages .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  -r .ci/requirements-test.txt

# The tests and scripts/qgis_process load the plugin from ./imperviousness_plugin: make that the
# installed copy, so what is tested is what the zip installed.
rm -rf imperviousness_plugin
ln -s "$PLUGIN" imperviousness_plugin
export PYTHONPATH="$DEPS:/ci/repo" QT_QPA_PLATFORM=offscreen OPENBLAS_NUM_THREADS=1
export IMPERVIOUSNESS_REQUIREMENTS_PATH="$DEPS"    # tests/test_desktop.py's second QGIS start
export PATH="$DEPS/bin:$PATH"

# The installed provider as qgis_process shows it in that profile (no QGIS_PLUGINPATH).
phase "installed provider"
listed="$(QGIS_CUSTOM_CONFIG_PATH="$CONFIG" qgis_process list 2>/dev/null | grep -c '^\s*imperviousness:' || true)"
echo "qgis_process list in the installed profile: $listed imperviousness algorithms"
[ "$listed" -ge 20 ] || { echo "the installed provider is not listed" >&2; exit 1; }

# The same absolute path as the 3.22 demo of .ci/run: the report names the run's inputs.
phase "demo"
DEMO=/tmp/imperviousness-ci-demo
IMPERVIOUSNESS_QGIS_PROFILE="$CONFIG" .venv/bin/python scripts/demo.py "$DEMO" > "$RESULTS/demo.log" 2>&1 \
  || { tail -40 "$RESULTS/demo.log"; exit 1; }
cp -r "$DEMO/products" "$RESULTS/demo-products"
tail -5 "$RESULTS/demo.log"

phase "suite ($MODE)"
# The QGIS-facing tests: every algorithm, the shipped models end to end, the delivery and the
# EEA QC checks, qgis_process behaviour; with the desktop test and the package they gate CI on
# every version (.ci/gate.py).
QGIS_FACING=(tests/test_algorithms.py tests/test_shipped_models.py tests/test_models.py tests/test_end_to_end.py
             tests/test_delivery.py tests/test_build_models.py tests/test_qgis_process_progress.py
             tests/test_hardening_qgis_process.py)
GATED=("${QGIS_FACING[@]}" tests/test_desktop.py tests/test_package.py)
if [ "$MODE" = full ]; then
  TESTS=(tests)
elif [ "$MODE" != qgis ]; then
  read -ra TESTS <<< "$MODE"     # a list of test files or node ids, e.g. for a rerun by hand
else
  # The kernels' tests need not run twice: 3.40 and 3.44 share Python, numpy and GDAL (the
  # full suite runs on 3.40).
  TESTS=("${QGIS_FACING[@]}")
fi
set +e
.venv/bin/python -m pytest -p no:cacheprovider -q -rfE --durations=10 --junitxml="$RESULTS/junit.xml" \
  "${TESTS[@]}" 2>&1 | tee "$RESULTS/pytest.log"
status="${PIPESTATUS[0]}"
# pytest's 1 means "some tests failed": the gate decides whether those failures fail CI.
[ "$status" -eq 1 ] && { python3 .ci/gate.py "$RESULTS/junit.xml" "${GATED[@]}" | tee -a "$RESULTS/pytest.log"; status="${PIPESTATUS[0]}"; }
set -e
[ -d build/screenshots ] && cp -r build/screenshots "$RESULTS/screenshots"
phase "suite done (exit $status)"
exit "$status"
