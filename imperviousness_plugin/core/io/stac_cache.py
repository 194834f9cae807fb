"""The STAC cache: one folder per (collection, item), trusted only when its manifest verifies.

Item ids and collection ids are data from a catalogue, never paths: the folder of an item is a
safe slug of its id plus a hash of (collection, id), prefixed with the acquisition date (the plain
folder layout reads the date from the name), and every file the fetch writes is checked to lie
inside the cache folder. The manifest (`metadata.json`, written atomically and last) records for
every band its source href, the source's ETag and size, the window and the SHA-256 of the cached
file; a folder is trusted only when all of it verifies, so a file cut short, a source that
changed since, or the leftovers of a killed run are fetched again. Two runs sharing the cache
take a lock per item folder (`flock`, released by the kernel when a process dies).
"""

import contextlib
import hashlib
import json
import os
import re
import time

from ..errors import Cancelled, ImperviousnessError
from .atomic import remove_quietly
from .digest import file_sha256

CACHE_FORMAT = 2           # manifests of another format (or none) are not trusted
MANIFEST = "metadata.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Characters that make an id a path (separators, '..', drive letters, control characters).
_PATH_LIKE = re.compile(r"[/\\:\x00-\x1f]|\.\.|^[.~]")
LOCK_POLL_S = 0.2


def _digest(*parts):
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:12]


def slug(text, limit=60):
    """Letters, digits, '_' and '-' only (no '.', no separator): a name that cannot be a path."""
    return _UNSAFE.sub("_", str(text)).strip("_-")[:limit] or "x"


def has_path_characters(text):
    return bool(_PATH_LIKE.search(str(text)))


def collection_folder(cache, collection):
    """<cache>/<collection slug>[_hash]: the hash only when the slug changed the id."""
    name = slug(collection)
    if name != collection:
        name = f"{name}_{_digest(collection)}"
    return inside(cache, os.path.join(cache, name))


def scene_folder(cache, collection, item_id, date):
    """<collection folder>/<YYYYMMDD>_<id slug>_<hash of collection and id>."""
    name = f"{date:%Y%m%d}_{slug(item_id)}_{_digest(collection, item_id)}"
    return inside(cache, os.path.join(collection_folder(cache, collection), name))


def inside(cache, path):
    """`path` when it lies inside `cache` (symlinks resolved), else an error: no write may leave it."""
    root = os.path.realpath(os.path.abspath(cache))
    real = os.path.realpath(os.path.abspath(path))
    if os.path.commonpath([root, real]) != root or real == root:
        raise ImperviousnessError(f"Refused to write {path}: it lies outside the cache folder {cache}.")
    return path


def read_manifest(folder):
    """The folder's manifest as a dict, or None (absent, unreadable, or of an older format)."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as stream:
            manifest = json.load(stream)
    except (OSError, ValueError):
        return None
    ok = (isinstance(manifest, dict) and manifest.get("cache_format") == CACHE_FORMAT
          and isinstance(manifest.get("files"), dict) and "window" in manifest
          and "boa_add_offset" in manifest)
    return manifest if ok else None


def manifest_problem(folder, manifest, collection, item_id, hrefs, source_state):
    """Why the cached folder cannot be trusted for this item, or None when all of it verifies.

    `hrefs`: band -> href the item gives now; `source_state(href)` -> (etag, size) of the source
    now (one HEAD request each).
    """
    if manifest is None:
        return "no complete manifest (never fetched, or left by an interrupted run)"
    if manifest.get("collection") != collection or manifest.get("stac_item") != item_id:
        return "the manifest belongs to another item"
    for band, href in hrefs.items():
        entry = manifest["files"].get(band)
        path = os.path.join(folder, f"{band}.tif")
        if not entry or entry.get("href") != href:
            return f"band {band} was fetched from another href"
        if not os.path.exists(path) or os.path.getsize(path) != entry.get("bytes"):
            return f"{band}.tif is missing or cut short"
        if file_sha256(path) != entry.get("sha256"):
            return f"{band}.tif does not match its checksum"
        etag, size = source_state(href)
        if (etag, size) != (entry.get("etag"), entry.get("size")):
            return (f"the source of band {band} changed (ETag {entry.get('etag')} -> {etag}, "
                    f"size {entry.get('size')} -> {size})")
    return None


def remove_debris(folder):
    """Temporary files of a killed run (hidden '.partial' names); call with the folder's lock."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            if name.startswith(".") and ".partial" in name:
                remove_quietly(os.path.join(folder, name))


@contextlib.contextmanager
def folder_lock(folder, cancelled=None, on_wait=None):
    """An exclusive lock on `folder` between processes (and threads), waiting with cancellation;
    `on_wait()` is called once when another holder makes us wait.

    The lock file sits beside the folder; the kernel releases the lock when its holder dies, so a
    killed run never leaves the cache locked.
    """
    path = folder.rstrip(os.sep) + ".lock"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle = open(path, "a+b")  # noqa: SIM115 (held for the block)
    try:
        waited = False
        while not _try_lock(handle):
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            if cancelled is not None and cancelled():
                raise Cancelled("Cancelled by the user")
            time.sleep(LOCK_POLL_S)
        yield
    finally:
        handle.close()   # closing releases the lock


def _try_lock(handle):
    try:
        import fcntl
    except ImportError:   # Windows
        import msvcrt
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
