"""Helpers shared by the benchmarks: run a function in a fresh process and measure it."""

import multiprocessing
import time


def peak_rss_mib():
    """This process's peak resident memory (VmHWM) in MiB.

    Unlike ru_maxrss, VmHWM starts afresh at exec, so a spawned child reports its own peak and
    not the parent's memory at fork time.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(queue, function, args):
    started = time.perf_counter()
    result = function(*args)
    queue.put((time.perf_counter() - started, peak_rss_mib(), result))


def measure_in_child(function, *args):
    """(wall seconds, peak resident MiB, result) of function(*args) run in a spawned process."""
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
