"""Helpers shared by the benchmarks: run a function in a fresh process and measure it."""

import multiprocessing
import queue as queues
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
    while True:   # a child that dies (e.g. a crash in GDAL) never answers: do not wait forever
        try:
            seconds, peak_mib, result = queue.get(timeout=1.0)
            break
        except queues.Empty:
            if not process.is_alive():
                raise RuntimeError(f"benchmark child died with exit code {process.exitcode}") from None
    process.join()
    if process.exitcode:
        raise RuntimeError(f"benchmark child failed with exit code {process.exitcode}")
    return seconds, peak_mib, result


def verdict(ok):
    return "PASS" if ok else "FAIL"


def cpu_flags():
    """The SIMD flags that decide the kernels' speed (numpy's sort uses AVX-512 when present)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                          if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    simd = sorted(flag for flag in set(flags) if flag == "avx2" or flag.startswith("avx512"))
    return " ".join(simd) or "no AVX2"


def machine_line():
    import os
    load = os.getloadavg()
    return (f"CPU: {os.cpu_count()} cores, flags {cpu_flags()}; "
            f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
