#!/usr/bin/env bash
# Run .ci/suite.sh inside a throw-away copy of a cached Debian root file system (.ci/rootfs.sh):
# an overlay over the cached tree, so the cache itself is never changed by a run.
# Usage: .ci/in_rootfs.sh trixie|trixie-backports ZIP RESULTS_DIR [suite arguments...]
#   ZIP: the packaged plugin (make package); RESULTS_DIR (host) receives the suite's results
#   (the demo's products, logs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FLAVOUR="$1" ZIP="$(realpath "$2")" RESULTS="$3"
shift 3
QC_TOOL="${QC_TOOL_REPO:-/work/.mirror/eea+copernicus_quality_tools/repo}"
SHARED="$(realpath "$ROOT/../shared" 2>/dev/null || true)"

LOWER="$("$ROOT/.ci/rootfs.sh" "$FLAVOUR")"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/imperviousness-ci-$FLAVOUR.XXXXXX")"
MERGED="$WORK/root"
mkdir -p "$WORK/upper" "$WORK/work" "$MERGED" "$RESULTS"
RESULTS="$(realpath "$RESULTS")"

cleanup() {
  # Lazy unmounts: a process the suite left behind must not keep the mounts (and so WORK) alive.
  for mount in $(findmnt -rn -o TARGET | grep "^$MERGED" | sort -r); do
    umount -l "$mount" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$WORK/upper,workdir=$WORK/work" "$MERGED"
mount -t proc proc "$MERGED/proc"
mount --rbind /sys "$MERGED/sys" && mount --make-rslave "$MERGED/sys"
mount --rbind /dev "$MERGED/dev" && mount --make-rslave "$MERGED/dev"

# Network: this machine's resolver and its extra CA certificates (pip reaches the index through
# them), as in the host's system store.
cp -L /etc/resolv.conf "$MERGED/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$MERGED/usr/local/share/ca-certificates/"
fi
chroot "$MERGED" update-ca-certificates >/dev/null 2>&1

# The repository (tracked and untracked files, no build outputs), the packaged zip, the real data
# beside it (read-only) and the EEA QC tool's git directory (read-only).
mkdir -p "$MERGED/ci/repo" "$MERGED/ci/results"
tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
    --exclude=__pycache__ --exclude=.pytest_cache -cf - . | tar -C "$MERGED/ci/repo" -xf -
cp "$ZIP" "$MERGED/ci/$(basename "$ZIP")"
if [ -n "$SHARED" ] && [ -d "$SHARED" ]; then
  mkdir -p "$MERGED/ci/shared" && mount --bind -o ro "$SHARED" "$MERGED/ci/shared"
fi
if [ -d "$QC_TOOL" ]; then
  mkdir -p "$MERGED/ci/qc_tool" && mount --bind -o ro "$QC_TOOL" "$MERGED/ci/qc_tool"
fi
mount --bind "$RESULTS" "$MERGED/ci/results"
# pip's download cache survives runs when the cache folder exists (a speed-up, never required).
PIP_CACHE="${IMPERVIOUSNESS_CI_CACHE:-/var/cache/imperviousness-ci}/pip"
if mkdir -p "$PIP_CACHE" 2>/dev/null; then
  mkdir -p "$MERGED/root/.cache/pip" && mount --bind "$PIP_CACHE" "$MERGED/root/.cache/pip"
fi

chroot "$MERGED" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  QC_TOOL_REPO=/ci/qc_tool CI_FLAVOUR="$FLAVOUR" \
  bash /ci/repo/.ci/suite.sh "/ci/$(basename "$ZIP")" "$@"
