"""`tune devices`: what tuneyard sees on this machine, without training.

Registered on `tuneyard.cli.main.app` when cli/main.py imports this module.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

from tuneyard.cli.base import app
from tuneyard.cli.display import console
from tuneyard.engine.capacity import cpu_cores
from tuneyard.engine.devices import visible_gpus
from tuneyard.engine.hardware import (
    LIBRARIES,
    Gpu,
    backend_gpus,
    cpu_flags,
    cpu_precision,
    gpu_precision,
    library_version,
    nvidia_gpus,
)
from tuneyard.keras_backend import keras_backend, missing_backend
from tuneyard.quiet_import import stderr_silenced


@app.command()
def devices():
    """List the GPUs (memory, precision), cores, Keras backend and library versions tuneyard
    sees; imports the Keras backend to ask it, trains nothing."""
    lines, problems = [], []
    visible, source = visible_gpus()
    listed = nvidia_gpus()
    backend, decided = keras_backend()
    missing = missing_backend()
    if missing:
        seen, seen_note = [], "not installed: " + missing.partition("not installed: ")[2]
    else:
        # Asking initialises the backend's GPUs: grow into their memory, never take it all
        # from a sweep that is running on them.
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        with stderr_silenced():  # the backend's start-up lines (oneDNN, absl, CUDA probes)
            seen, seen_note = backend_gpus(backend)
    if visible:
        # nvidia-smi numbers the node's GPUs; the backend numbers the visible ones from 0.
        known = ({gpu.index: gpu for gpu in listed} if listed is not None
                 else dict(zip(visible, seen, strict=False)))
        lines.append(f"GPUs ({source}): {len(visible)}; each worker of --workers N gets one")
        lines += [f"  {_gpu_line(known.get(index), index, listed is not None)}" for index in visible]
        if not missing and not seen:
            problems.append(_not_seen(backend))
    else:
        lines.append(f"GPUs: no GPU visible ({source}): trials train on the CPU")
        if seen:  # a GPU the backend finds but tuneyard does not assign (no nvidia-smi)
            lines += [f"  {_gpu_line(gpu, gpu.index, False)}" for gpu in seen]
            problems.append(f"{backend} sees {len(seen)} GPUs that tuneyard cannot list: set "
                            "CUDA_VISIBLE_DEVICES to them so each worker gets its own")
    lines.append(f"CPU: {cpu_cores()} cores this process may use (of {os.cpu_count()}); "
                 f"precision: {cpu_precision(cpu_flags())}")
    lines.append(f"Keras backend: {backend} ({decided}): {seen_note}")
    lines.append("versions: " + ", ".join(f"{name} {library_version(names)}" for name, names in LIBRARIES))
    problems += _two_tensorflows()
    for line in lines + [f"warning: {p}" for p in problems]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _gpu_line(gpu: Gpu | None, index: str, from_smi: bool) -> str:
    if gpu is None:
        return (f"gpu {index}: memory and compute capability unknown (no nvidia-smi and the "
                "Keras backend does not see it)")
    memory = f"{gpu.memory_mib} MiB" if gpu.memory_mib is not None else (
        "memory unknown (no nvidia-smi)" if not from_smi else "memory not reported")
    capability = f"compute capability {gpu.capability:.1f}" if gpu.capability else (
        "compute capability unknown")
    return f"gpu {index}: {gpu.name}, {memory}, {capability}; precision: {gpu_precision(gpu.capability)}"


def _not_seen(backend: str) -> str:
    if backend == "tensorflow" and library_version(("tensorflow-cpu",)) != "not installed":
        return ("tensorflow-cpu is installed, which cannot use a GPU: pip uninstall tensorflow-cpu, "
                "then pip install 'tuneyard[gpu]'")
    return (f"{backend} sees none of these GPUs: trials given one train on the CPU; install its "
            "GPU build (pip install 'tuneyard[gpu]' for TensorFlow) or check the driver")


def _two_tensorflows() -> list[str]:
    """Both TensorFlow wheels in one environment overwrite each other's files."""
    try:
        version("tensorflow"), version("tensorflow-cpu")
    except PackageNotFoundError:
        return []
    return ["tensorflow and tensorflow-cpu are both installed, in one folder: keep one "
            "(pip uninstall tensorflow-cpu for a GPU)"]
