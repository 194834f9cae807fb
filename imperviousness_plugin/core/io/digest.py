"""One file checksum for every place that verifies what it wrote or read (the STAC cache's
manifest, the tile runner's inputs and recorded outputs)."""

import hashlib


def file_sha256(path):
    """The SHA-256 of a file's bytes, as hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
