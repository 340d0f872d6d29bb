"""How many worker processes a sweep may start on this machine.

Each worker process imports TensorFlow and holds its own copy of the data, so a
worker costs memory whatever it trains, and workers share the cores. A request
for more workers than the machine can hold is refused in one line before any
process starts (hundreds of workers once filled 24 GiB and the kernel's
out-of-memory killer ended an unrelated sweep); a request for more workers than
trials left starts only as many as there are trials.
"""

from __future__ import annotations

import os

from tuneyard.errors import TuneyardError, given

# What a worker process holds before its first model: TensorFlow imported and a small
# model trained (measured on Linux x86_64, tensorflow-cpu 2.21: about 780 MB peak).
WORKER_BASE_BYTES = 800 * 2**20


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory() -> int | None:
    """Bytes the kernel says can be given to new processes (None where it does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_workers_fit(workers: int, data_bytes: int | None = None, gpu_slots: int = 0) -> None:
    """Refuse `--workers N` beyond the cores, or beyond the memory N workers would hold.

    `data_bytes`: the size of the dataset each worker loads, where it is known.
    `gpu_slots`: workers the chosen GPUs take (GPUs x --trials-per-gpu): trials that train on
    a GPU do not need a core each, so up to that many workers are allowed whatever the cores.
    """
    cores = cpu_cores()
    if workers > max(cores, gpu_slots):
        raise TuneyardError(
            f"{given('workers', workers)} is more than the {cores} cores this process may use: each worker "
            "trains on its share of the cores, so more workers only slow every trial down; use "
            f"{given('workers', cores)} or fewer (or `tune worker` on more machines)")
    memory = available_memory()
    per_worker = WORKER_BASE_BYTES + (data_bytes or 0)
    if memory is not None and workers * per_worker > memory:
        fits = max(1, memory // per_worker)
        raise TuneyardError(
            f"{given('workers', workers)} would need about {workers * per_worker / 2**30:.1f} GiB "
            f"({per_worker / 2**20:.0f} MiB per worker process) and {memory / 2**30:.1f} GiB is "
            f"available; use {given('workers', fits)} or fewer, or free memory")
