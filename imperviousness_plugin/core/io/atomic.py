"""The one atomic write: every file an algorithm produces goes through `atomic_path`.

A file is written under a hidden temporary name beside its final name and moved into place
(os.replace, atomic on one file system) only when it is complete. On any error, cancellation or
signal the temporary file is removed, so nothing half-written is ever seen under the output name
and no debris is left. Temporary names still alive in this process are kept in one registry so
that a signal handler can remove them before the process dies (`remove_pending_files`); under
qgis_process the files already moved into place by the current algorithm are recorded too
(`track_written`), so that a signal leaves none of its outputs (`remove_written_files`).
"""

import contextlib
import errno
import json
import os
import shutil
import threading
import uuid

from ..errors import ImperviousnessError

_pending = set()
# Reentrant: a signal handler runs in the main thread between two bytecodes, possibly while that
# thread holds the lock in atomic_path; a plain Lock would deadlock there.
_pending_lock = threading.RLock()
_written = None   # files moved into place since track_written(); None: not recording
_recorders = []   # one list per active removed_on_error() block


def _describe_os_error(error):
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only folder?)"
    return error.strerror or str(error)


def _folder_state(folder):
    """'the disk is full', 'the folder is read-only' or None, from the file system itself."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return None
    if stat.f_flag & os.ST_RDONLY:
        return "the folder is read-only"
    if stat.f_bavail == 0:
        return "the disk is full"
    return None


def write_error(path, error):
    """An ImperviousnessError naming `path` for a failed write, or None when `error` is no
    write failure (e.g. GDAL's RuntimeError for an unreadable input inside the write block).

    GDAL reports a full disk late and vaguely ("TIFFAppendToStrip: Write error at scanline"),
    so the output's file system is asked directly.
    """
    if isinstance(error, OSError):
        return ImperviousnessError(f"Cannot write {path}: {_describe_os_error(error)}.")
    state = _folder_state(os.path.dirname(path))
    if state is None and ("No space left" in str(error) or "Permission denied" in str(error)):
        state = str(error)
    return ImperviousnessError(f"Cannot write {path}: {state}.") if state else None


def _temporary_name(path):
    folder, name = os.path.split(path)
    stem, extension = os.path.splitext(name)
    # The extension is kept last so GDAL drivers and viewers recognise the temporary file.
    return os.path.join(folder, f".{stem}.{uuid.uuid4().hex[:8]}.partial{extension}")


def remove_quietly(*paths):
    """Remove files that may or may not exist (with GDAL's .aux.xml side file)."""
    for path in paths:
        for candidate in (path, path + ".aux.xml"):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.remove(candidate)


def remove_pending_files():
    """Remove every temporary file still being written by this process (for signal handlers)."""
    with _pending_lock:
        pending = list(_pending)
        _pending.clear()
    remove_quietly(*pending)


def track_written(enabled=True):
    """Start recording the files moved into place anew (each algorithm run), or stop."""
    global _written
    with _pending_lock:
        _written = [] if enabled else None


def remove_written_files():
    """Remove the files moved into place since track_written() (for signal handlers)."""
    with _pending_lock:
        written = list(_written or [])
        if _written:
            _written.clear()
    remove_quietly(*written)


@contextlib.contextmanager
def removed_on_error():
    """Files moved into place inside the block are removed again when the block fails.

    An algorithm with several outputs (publish, changemask with its thresholds file, predict with
    its SD and confidence) may fail after some of them are complete; the run then leaves none.
    """
    record = []
    with _pending_lock:
        _recorders.append(record)
    try:
        yield
    except BaseException:
        remove_quietly(*record)
        raise
    finally:
        with _pending_lock:
            _recorders.remove(record)


def _record_written(path, written):
    """Add (written=True) or drop `path` from the records (track_written, removed_on_error)."""
    with _pending_lock:
        records = _recorders + ([] if _written is None else [_written])
        for record in records:
            if written:
                record.append(path)
            elif path in record:
                record.remove(path)


@contextlib.contextmanager
def atomic_path(path, output=True):
    """Yield a temporary path beside `path`; move it over `path` when the block succeeds.

    `output=False` for cache files: they are not recorded as the run's outputs, so a run that
    fails or is interrupted later keeps them (each is complete once moved into place).
    Write failures (missing or read-only folder, disk full) raise ImperviousnessError naming the
    output, never the hidden temporary file.
    """
    path = os.path.abspath(str(path))
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise ImperviousnessError(f"Cannot create the folder of {path}: {_describe_os_error(error)}.") from None
    if not os.access(folder, os.W_OK):
        raise ImperviousnessError(f"Cannot write {path}: the folder {folder} is not writable.")
    temporary = _temporary_name(path)
    with _pending_lock:
        _pending.add(temporary)
    try:
        yield temporary
        # Recorded before the move: a signal handler running in between removes both names.
        if output:
            _record_written(path, True)
        try:
            os.replace(temporary, path)
        except OSError:
            if output:
                _record_written(path, False)
            raise
    except (OSError, RuntimeError) as error:  # GDAL reports write failures as RuntimeError
        failure = write_error(path, error)
        if failure is None:
            raise
        raise failure from None
    finally:
        with _pending_lock:
            _pending.discard(temporary)
        remove_quietly(temporary)


@contextlib.contextmanager
def scratch_path(beside, suffix=".tif"):
    """Yield a hidden temporary path beside `beside` for intermediate data; always removed.

    Intermediate files (e.g. a tile's features before they are resampled) are registered like
    the temporaries of `atomic_path`, so a signal handler removes them too.
    """
    temporary = _temporary_name(os.path.splitext(os.path.abspath(str(beside)))[0] + suffix)
    with _pending_lock:
        _pending.add(temporary)
    try:
        yield temporary
    finally:
        with _pending_lock:
            _pending.discard(temporary)
        remove_quietly(temporary)


def write_bytes(path, data, output=True):
    with atomic_path(path, output) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)


def copy_file(source, path):
    """Copy the bytes of `source` to `path` atomically."""
    with atomic_path(path) as temporary:
        shutil.copyfile(source, temporary)


def write_text(path, text, output=True):
    write_bytes(path, text.encode("utf-8"), output)


def write_json(path, data, default=None, output=True):
    """JSON with sorted keys and a final newline, so equal data gives equal bytes.

    `default` is json.dumps's converter for values JSON has no type for (e.g. str).
    """
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=default) + "\n", output)
