"""Helpers shared by the benchmarks: run a function in a child process and measure it."""

import multiprocessing
import resource
import time


def _child(queue, function, args):
    started = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, peak_kib / 1024.0, result))


def measure_in_child(function, *args):
    """(wall seconds, peak resident memory in MiB, result) of function(*args) in a fresh process.

    A fresh process makes ru_maxrss the peak of this one call, not of everything run before.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, function, args))
    process.start()
    seconds, peak_mib, result = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"benchmark child failed with exit code {process.exitcode}")
    return seconds, peak_mib, result


def verdict(ok):
    return "PASS" if ok else "FAIL"
