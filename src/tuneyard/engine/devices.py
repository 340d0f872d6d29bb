"""Which GPU each worker process trains on, decided in the parent without TensorFlow.

The visible GPUs are CUDA_VISIBLE_DEVICES's when it is set (a scheduler such as SLURM or
Ray sets it to the cards of the job, and `nvidia-smi` would list every card of the node),
else `nvidia-smi -L`'s, else none: then every trial trains on the CPU, as it always has.
With G of them chosen (`--gpus`, default all), worker slot i gets GPU i mod G, at most
`--trials-per-gpu` slots a card; a slot's successor process gets the slot's card. A worker
is pinned by CUDA_VISIBLE_DEVICES=<its card> and memory growth set in its environment
before the Keras backend loads, so no worker sees (or reserves) another's card.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from tuneyard.errors import TuneyardError, api_words_on, given, named

# A CUDA device as CUDA_VISIBLE_DEVICES names one: an index, or a GPU / MIG UUID.
_DEVICE = re.compile(r"^(\d+|(GPU|MIG)-[0-9A-Za-z-]+(/\d+/\d+)?)$")
CPU = "cpu"


def visible_gpus() -> tuple[list[str], str]:
    """The GPUs this machine gives tuneyard, and where that list came from (for messages)."""
    declared = os.environ.get("CUDA_VISIBLE_DEVICES")
    if declared is not None:
        return _cuda_list(declared), "CUDA_VISIBLE_DEVICES"
    listed = nvidia_smi("-L")
    if listed is None:
        return [], "no nvidia-smi on the PATH and CUDA_VISIBLE_DEVICES not set"
    # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"; MIG lines are indented under their GPU.
    return re.findall(r"^GPU (\d+):", listed, flags=re.MULTILINE), "nvidia-smi -L"


def _cuda_list(value: str) -> list[str]:
    """CUDA_VISIBLE_DEVICES as CUDA reads it: the entries up to the first one that is not a
    device ("" , "-1" and SLURM's "NoDevFiles" hide every GPU)."""
    out = []
    for entry in (e.strip() for e in value.split(",")):
        if not _DEVICE.match(entry):
            break
        out.append(entry)
    return out


def nvidia_smi(*args: str) -> str | None:
    """nvidia-smi's output, or None where it is missing or fails (no driver)."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        done = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def parse_gpus(text: Any) -> list[str]:
    """`--gpus 0,2` as a list of device names; a malformed one is refused in one line."""
    entries = [str(e).strip() for e in (text.split(",") if isinstance(text, str) else text)]
    bad = [e for e in entries if not _DEVICE.match(e)]
    if not entries or bad:
        raise TuneyardError(
            f"{given('gpus', text if isinstance(text, str) else ','.join(entries))}: "
            f"{'nothing given' if not entries else repr(bad[0]) + ' is not a GPU'}; give GPU "
            f"numbers as `tune devices` lists them, comma-separated ({given('gpus', '0,2')})")
    repeated = sorted({e for e in entries if entries.count(e) > 1})
    if repeated:
        several = "trials_per_gpu=K" if api_words_on() else "--trials-per-gpu K"
        raise TuneyardError(f"{named('gpus')} names GPU {repeated[0]} twice; to put several trials "
                            f"on one GPU use {several}")
    return entries


def choose_gpus(gpus: Any, workers: int, per_gpu: int, trials_per_process: int) -> tuple[str, ...]:
    """The GPUs a sweep's workers use: `gpus` (--gpus; None: every visible one), checked.

    Refuses a GPU that is not visible, --gpus on a machine with none, --gpus when trials
    run in this process (--trials-per-process 0), and more workers than the GPUs hold at
    `per_gpu` workers a GPU. No GPU visible and no --gpus: () (the CPU, as always).
    """
    visible, source = visible_gpus()
    if gpus is None:
        chosen = visible
    else:
        chosen = parse_gpus(gpus)
        if not visible:
            raise TuneyardError(f"{given('gpus', ','.join(chosen))}: no GPU is visible ({source}); "
                                f"drop {named('gpus')} to train on the CPU, or see `tune devices`")
        missing = [g for g in chosen if g not in visible]
        if missing:
            raise TuneyardError(f"{given('gpus', ','.join(chosen))}: GPU {missing[0]} is not visible; the "
                                f"visible GPUs are {','.join(visible)} ({source})")
        if trials_per_process == 0:
            raise TuneyardError(f"{named('gpus')} picks a GPU for each worker process, and with "
                                f"{given('trials_per_process', 0)} trials run in this process, which "
                                "sees every visible GPU: set CUDA_VISIBLE_DEVICES instead, or drop "
                                f"{given('trials_per_process', 0)}")
    if chosen and workers > len(chosen) * per_gpu:
        need = math.ceil(workers / per_gpu)
        raise TuneyardError(
            f"{given('workers', workers)} needs {need} GPUs at {given('trials_per_gpu', per_gpu)} and "
            f"{len(chosen)} are given ({','.join(chosen)}); use {given('workers', len(chosen) * per_gpu)} "
            f"or fewer, {given('trials_per_gpu', math.ceil(workers / len(chosen)))}, or "
            "CUDA_VISIBLE_DEVICES= (empty) to train on the CPU")
    return tuple(chosen)


def slot_devices(gpus: Sequence[str], slots: int) -> list[str | None]:
    """The GPU of each worker slot, round-robin over `gpus` (None: the CPU, no GPU given)."""
    if not gpus:
        return [None] * slots
    return [gpus[i % len(gpus)] for i in range(slots)]


def pin(device: str | None) -> None:
    """In a worker process, before the Keras backend loads: see only `device`, and grow
    into its memory rather than reserve all of it (TensorFlow's and JAX's defaults)."""
    if device is None:
        return  # no GPU given: the environment stays as the parent's, as it always was
    os.environ["CUDA_VISIBLE_DEVICES"] = device
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def label(device: str | None) -> str:
    """What a trial records as its device: "gpu:2", or "cpu"."""
    return CPU if device is None else f"gpu:{device}"


def process_label(gpus: Sequence[str]) -> str:
    """The device of a trial run in this process, which sees every visible GPU."""
    return f"gpu:{','.join(gpus)}" if gpus else CPU


def backend_device() -> str:
    """Where the Keras backend of this process places a model: "gpu:0" or "cpu:0" (its
    first device, which it uses by default); "" when it cannot say."""
    # heavy: keras
    import keras

    try:
        devices = keras.distribution.list_devices()
    except Exception:  # a backend without the distribution API (torch): not known
        return ""
    return str(devices[0]).lower() if devices else ""
