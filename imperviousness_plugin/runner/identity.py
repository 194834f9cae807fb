"""What the tile runner knows of its inputs and outputs: content, not paths.

A re-run may skip a task only when its inputs are the ones the manifest recorded and its outputs
are still the files it wrote. Inputs are identified by content (`identify`): a small file by its
full SHA-256; a large one by its size, its modification time and a SHA-256 of its header and of
SAMPLES blocks spread evenly over it (a changed raster changes its header or the blocks sampled
almost always, and size or mtime otherwise); a folder (a year of Sentinel-2 acquisitions) by the
identity of every file under it, by relative path. Outputs are checked by their full SHA-256
(`file_sha256`), which the tasks record as they write them.
"""

import hashlib
import os

from ..core.io.digest import file_sha256

# A year of Sentinel-2 is ~1200 band files of ~100 MB: ~0.2 MB read per large file keeps a run's
# start to a few hundred MB of reads per year.
FULL_HASH_LIMIT = 8 << 20      # bytes: files up to this size are hashed whole
HEADER = 1 << 16               # bytes hashed at the start (GeoTIFF header and directory)
SAMPLES = 8                    # blocks of SAMPLE bytes hashed over the rest, and the tail
SAMPLE = 1 << 14


def sampled_sha256(path, size):
    """SHA-256 of the header, SAMPLES evenly spread blocks and the tail of a large file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(HEADER))
        step = (size - HEADER) // (SAMPLES + 1)
        for index in range(1, SAMPLES + 1):
            handle.seek(HEADER + index * step)
            digest.update(handle.read(SAMPLE))
        handle.seek(max(0, size - SAMPLE))
        digest.update(handle.read(SAMPLE))
    return digest.hexdigest()


def file_identity(path):
    status = os.stat(path)
    if status.st_size <= FULL_HASH_LIMIT:
        return {"size": status.st_size, "sha256": file_sha256(path)}
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns,
            "sampled_sha256": sampled_sha256(path, status.st_size)}


def identify(value):
    """The content identity of a model input: a file, a folder (every file under it), a list of
    them (models), or None for anything that is not a path on this machine (numbers, names)."""
    if isinstance(value, (list, tuple)):
        identities = [identify(item) for item in value]
        return identities if any(item is not None for item in identities) else None
    if not isinstance(value, str) or not value:
        return None
    if os.path.isfile(value):
        return file_identity(value)
    if os.path.isdir(value):
        files = {}
        for root, folders, names in os.walk(value):
            folders.sort()
            for name in sorted(names):
                path = os.path.join(root, name)
                files[os.path.relpath(path, value)] = file_identity(path)
        return {"files": files}
    return None
