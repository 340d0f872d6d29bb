"""Reaching Ray for `--executor ray`: a local Ray started for the run, or a cluster's address.

Ray is an optional extra (`tuneyard[ray]`): without it the sweep says in one line how to
install it, before anything loads. An address that does not answer is said in one line
within seconds (a TCP connect first), not after Ray's own minute of retries. What each trial
asks of the cluster (`TrialResources`: its CPUs, and a GPU or 1/K of one when the cluster
has GPUs) is checked against what the cluster has before any actor starts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from tuneyard.engine.capacity import available_memory, cpu_cores
from tuneyard.errors import TuneyardError

INSTALL_RAY = "pip install 'tuneyard[ray]'"
CONNECT_SECONDS = 3.0  # an address that takes longer than this to accept a connection is down
RAY_CLIENT_PORT = 10001  # ray://host without a port: Ray Client's default
GCS_PORT = 6379  # host without a port: the head node's default
# The local Ray's object store holds the dataset (once) and the models coming back: up to
# 2 GiB, at most a fifth of the memory available (Ray's default takes 30% of it). Pages are
# used as objects arrive; a dataset too big for it is loaded by each slot instead.
LOCAL_OBJECT_STORE_BYTES = 2 * 2**30


def require_ray() -> None:
    """Say in one line how to install Ray when it is missing (checked without importing it)."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        found = False
    if not found:
        raise TuneyardError(f"--executor ray needs Ray, which is not installed: {INSTALL_RAY}")


@dataclass(frozen=True)
class TrialResources:
    """What one trial's actor asks of the cluster."""

    cpus: float
    gpus: float  # 0: the cluster has no GPU; else 1/--trials-per-gpu

    def options(self) -> dict:
        """The actor options that declare them."""
        return {"num_cpus": self.cpus, "num_gpus": self.gpus}


class RayCluster:
    """The Ray a sweep runs on: connected at `connect`, shut down at `close` if started here."""

    def __init__(self, address: str | None, workers: int, gpus: tuple = (), trials_per_gpu: int = 1,
                 verbose: bool = False):
        self.address, self.workers = address, workers
        self.gpus, self.trials_per_gpu, self.verbose = tuple(gpus), trials_per_gpu, verbose
        self.started = False  # a local Ray this run started (and shuts down)

    def connect(self) -> None:
        """Join the cluster at `address`, a Ray this process already joined, or start one."""
        # heavy: ray
        import ray

        if ray.is_initialized():  # the caller's own Ray (a notebook, tests): used as it is
            return
        if self.address is not None:
            try:
                ray.init(address=self.address, logging_level=logging.ERROR,
                         log_to_driver=self.verbose)
            except Exception as exc:  # Ray's ConnectionError, a version mismatch, a refused token
                text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise TuneyardError(f"--address {self.address}: Ray could not join the cluster: "
                                    f"{text}") from None
            return
        with _visible(self.gpus):
            # "local": a Ray of its own even where `ray start` runs one (ray.init would join it)
            # A CPU per slot and one for its successor, which starts (imports the Keras backend,
            # reads the data) while its predecessor runs its last trial, as in the local pool.
            ray.init(address="local", num_cpus=max(cpu_cores(), 2 * self.workers), num_gpus=len(self.gpus),
                     object_store_memory=_object_store_bytes(), include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=self.verbose)
        self.started = True

    def resources(self) -> TrialResources:
        """What each trial declares, refused in one line when the cluster cannot run --workers
        of them at once."""
        # heavy: ray
        import ray

        total = ray.cluster_resources()
        cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
        per_trial = TrialResources(cpus=1.0, gpus=1.0 / self.trials_per_gpu if gpus else 0.0)
        fits = math.floor(cpus / per_trial.cpus + 1e-9)
        if per_trial.gpus:
            fits = min(fits, math.floor(gpus / per_trial.gpus + 1e-9))
        if fits < self.workers:
            where = f"the Ray cluster at {self.address}" if self.address else "the local Ray"
            raise TuneyardError(
                f"--workers {self.workers} needs {self.workers} trials at once and {where} holds "
                f"{fits} ({cpus:g} CPUs, {gpus:g} GPUs; a trial takes 1 CPU"
                f"{f' and {per_trial.gpus:g} GPU' if per_trial.gpus else ''}); use --workers "
                f"{max(fits, 1)} or fewer{', or --trials-per-gpu K' if gpus else ''}, or add nodes")
        return per_trial

    def close(self) -> None:
        """Shut down the local Ray this run started; a cluster is left as it was."""
        if not self.started:
            return
        # heavy: ray
        import ray

        with contextlib.suppress(Exception):  # shutting down what is already going
            ray.shutdown()
        self.started = False


def check_answers(address: str) -> None:
    """Refuse in one line, within seconds, an address where nothing accepts a connection."""
    if address == "auto":
        return  # Ray reads the running cluster's address from this machine at once
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    default = RAY_CLIENT_PORT if parts.scheme == "ray" else GCS_PORT
    try:
        host, port = parts.hostname, parts.port or default
    except ValueError:  # a port that is not a number
        host, port = None, None
    if not host:
        raise TuneyardError(f"--address {address}: not an address; give auto, host:port (the "
                            f"head's GCS, port {GCS_PORT}) or ray://host:{RAY_CLIENT_PORT} (Ray Client)")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            pass
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise TuneyardError(f"--address {address}: nothing answers at {host}:{port} ({why}); start "
                            "the cluster (ray start --head) or check the address") from None


def _object_store_bytes() -> int:
    memory = available_memory()
    return max(256 * 2**20, min(LOCAL_OBJECT_STORE_BYTES, (memory or 0) // 5 or LOCAL_OBJECT_STORE_BYTES))


@contextlib.contextmanager
def _visible(gpus: tuple) -> Iterator[None]:
    """The chosen GPUs (--gpus, else every visible one) as the local Ray's, while it starts:
    Ray gives each actor CUDA_VISIBLE_DEVICES from among them."""
    before = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = before
