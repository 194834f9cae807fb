#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: apt packages, then the .venv with pinned pip
# packages. Re-running it when everything is in place takes about a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

APT_PACKAGES="qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-venv python3-scipy python3-matplotlib python3-pyqt6 zip chromium xvfb xauth"
# xvfb, xauth: tests/test_desktop.py runs real QGIS desktop on a virtual display
# python3-pyqt6: tests/test_qt6.py runs the plugin's plain-Qt widgets under PyQt6 (QGIS 4)

missing=()
for package in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The venv must be made from Debian's python: only it can import the qgis bindings.
if ! .venv/bin/python -c "import qgis.core, osgeo.gdal" >/dev/null 2>&1; then
  echo "setup: creating .venv on /usr/bin/python3 with system site packages"
  rm -rf .venv
  /usr/bin/python3 -m venv --system-site-packages .venv
fi

# requirements-train.txt (PyTorch CPU, onnx, scikit-learn) is optional for users but the tests
# train and export small models, so the development venv gets both files.
stamp=.venv/.requirements.sha256
wanted="$(cat requirements.txt requirements-train.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing pinned Python packages into .venv"
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check \
      -r requirements.txt -r requirements-train.txt > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    exit 1
  fi
  .venv/bin/python -c "import numpy, onnxruntime, cv2, onnx, torch, numba, requests, rustac, uvicorn, dask, distributed, bandit, detect_secrets; assert numpy.__version__ < '2'"
  test -x .venv/bin/rustac
  echo "$wanted" > "$stamp"
fi
