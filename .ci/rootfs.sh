#!/usr/bin/env bash
# A Debian root file system with a given QGIS, made with mmdebstrap from the Debian mirror that
# this machine's apt sources name; cached, validated before reuse, rebuilt when absent or invalid.
# Usage: .ci/rootfs.sh trixie|trixie-backports   -> prints the root file system's path.
#   trixie: QGIS 3.40 (Python 3.13, numpy 2.2, GDAL 3.10)
#   trixie-backports: QGIS 3.44 from trixie-backports over the same trixie base
# CI never depends on the cache: a missing or broken one is rebuilt (about 4 min, 2 GB each).
set -euo pipefail
FLAVOUR="${1:?usage: .ci/rootfs.sh trixie|trixie-backports}"
CACHE="${IMPERVIOUSNESS_CI_CACHE:-/var/cache/imperviousness-ci}"

# What the suite needs inside: QGIS desktop + qgis_process, GDAL tools, pip/venv for the test
# venv, SciPy/matplotlib from Debian (as on 3.22), Xvfb for the desktop test, chromium for the
# report screenshot, zip/make/git for packaging and the EEA QC tool's source archive.
PACKAGES="qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-pip python3-venv python3-scipy
python3-matplotlib python3-torch python3-onnx xvfb xauth zip unzip make git chromium ca-certificates procps
fonts-dejavu-core
locales"

MIRROR="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | grep -v security | head -1)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

# trixie-backports: every binary package built from the qgis source comes from backports (an apt
# preference written before the first apt run, so QGIS 3.44 is installed directly).
PREFERENCE=""
case "$FLAVOUR" in
  trixie) SOURCES=("deb $MIRROR trixie main") ; MIN_QGIS=34000 ;;
  trixie-backports) SOURCES=("deb $MIRROR trixie main" "deb $MIRROR trixie-backports main")
                    MIN_QGIS=34400
                    PREFERENCE="Package: src:qgis\nPin: release n=trixie-backports\nPin-Priority: 990\n" ;;
  *) echo "rootfs.sh: unknown flavour '$FLAVOUR' (trixie or trixie-backports)" >&2; exit 2 ;;
esac

# The cache key: everything that decides the tree's content (bump LAYOUT when the way it is built
# changes in another way).
LAYOUT=2
key="$(printf '%s\n' "$LAYOUT" "$FLAVOUR" "$PACKAGES" "${SOURCES[@]}" "$PREFERENCE" | sha256sum | cut -c1-16)"
ROOTFS="$CACHE/$FLAVOUR-$key"

# A root file system is valid when its build finished (stamp), QGIS's Python imports and QGIS
# has the flavour's version.
valid() {
  [ -f "$1/.imperviousness-ci-complete" ] &&
    chroot "$1" /usr/bin/python3 -c "import osgeo.gdal, numpy, scipy; from qgis.core import Qgis
assert Qgis.QGIS_VERSION_INT >= $MIN_QGIS, Qgis.QGIS_VERSION" >/dev/null 2>&1
}

mkdir -p "$CACHE"
# One build per flavour at a time (CI runs side by side share the cache); the next one waits and
# then finds the tree ready.
exec 9>"$CACHE/$FLAVOUR.lock"
flock 9
if valid "$ROOTFS"; then
  echo "$ROOTFS"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq mmdebstrap >&2
fi
rm -rf "$ROOTFS" "$ROOTFS.partial"
echo "rootfs.sh: building $FLAVOUR root file system in $ROOTFS (a few minutes)" >&2
hooks=()
if [ -n "$PREFERENCE" ]; then
  hooks+=(--setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\" && printf '$PREFERENCE' > \"\$1/etc/apt/preferences.d/qgis\"")
fi
# A mirror being synced can answer with inconsistent indexes for a moment: try three times.
for attempt in 1 2 3; do
  rm -rf "$ROOTFS.partial"
  if mmdebstrap --mode=root --variant=apt --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
      --include="$(echo $PACKAGES | tr ' ' ',')" "${hooks[@]}" \
      --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1 || true' \
      trixie "$ROOTFS.partial" "${SOURCES[@]}" >&2; then
    break
  fi
  [ "$attempt" -lt 3 ] || { echo "rootfs.sh: mmdebstrap failed three times" >&2; exit 1; }
  echo "rootfs.sh: mmdebstrap failed (attempt $attempt), retrying in 30 s" >&2
  sleep 30
done
touch "$ROOTFS.partial/.imperviousness-ci-complete"
mv "$ROOTFS.partial" "$ROOTFS"
if ! valid "$ROOTFS"; then
  echo "rootfs.sh: $ROOTFS was built but QGIS's Python does not import" >&2
  exit 1
fi
# Older builds of this flavour (another package list) are stale.
find "$CACHE" -maxdepth 1 -name "$FLAVOUR-????????????????" ! -name "$FLAVOUR-$key" -exec rm -rf {} +
echo "$ROOTFS"
