"""Everything `tune run` can set, checked where it is set: a bad option fails when the
options are made, before any space, store or data is touched."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from tuneyard.engine.capacity import check_workers_fit
from tuneyard.engine.devices import choose_gpus
from tuneyard.engine.epochs import default_grace, parse_duration
from tuneyard.engine.precision import check_precision
from tuneyard.engine.ray_cluster import check_answers, require_ray
from tuneyard.engine.tracking import check_tracking
from tuneyard.errors import TuneyardError, api_words, given, named

# A worker process is replaced after this many trials, with what they left behind in it
# (bench/memory.py: 30 MNIST MLPs in one process, 111 MB; 1,412 MB in a bare Keras loop).
DEFAULT_TRIALS_PER_PROCESS = 10


class SweepStopped(TuneyardError):
    """The sweep stopped itself: too many trials failed in a row."""


@dataclass
class SweepOptions:
    """Everything `tune run` can set."""

    space: Any  # a space name, a YAML path, or a Space (the Python API)
    backend: str = "tpe"
    trials: int | None = None
    epochs: int | None = None
    subset: int | None = None
    seed: int = 0
    storage: str | None = None
    study: str | None = None
    data_dir: str | None = None
    fresh: bool = False
    verbose: bool = False
    max_failures: int = 5
    prune: str = "none"
    workers: int = 1
    backend_options: dict = field(default_factory=dict)
    # Stop asking once the study's trials have trained this many epochs (`tune race`).
    budget_epochs: int | None = None
    # Trials a worker process runs before a fresh one replaces it (0: never), because
    # TensorFlow never frees a traced model's graphs (executors.py).
    trials_per_process: int = DEFAULT_TRIALS_PER_PROCESS
    # Share the study with workers (heartbeats, retries) whatever the storage; a grid, tpe
    # or random study on a server storage always is. Tests use it on a SQLite file.
    shared: bool = False
    # A wall-clock budget (`--timeout 2h`; seconds once made): no trial starts that cannot
    # end in it; running ones get `timeout_grace` seconds more, then are cut (and re-run).
    timeout: Any = None
    timeout_grace: float | None = None
    # A wall-clock limit per trial (`--trial-timeout 20m`; seconds once made): a trial past it
    # is stopped and recorded FAIL with the reason, and the sweep goes on.
    trial_timeout: Any = None
    # The GPUs the workers use (`--gpus 0,2`; None: every visible one), checked and made a
    # tuple of device names when the options are made (empty: no GPU, the CPU as always);
    # `trials_per_gpu` workers share a GPU at most (engine/devices.py).
    gpus: Any = None
    trials_per_gpu: int = 1
    # The precision trials train in (`--precision mixed`; None: the space's `training:
    # precision`, else float32): engine/precision.py.
    precision: str | None = None
    # Where trials run: "local" (this process or its worker processes) or "ray" (a Ray actor
    # per slot, engine/ray_executor.py); `address`: the Ray cluster to use ("auto",
    # "ray://host:10001"; None: a local Ray started for the run).
    executor: str = "local"
    address: str | None = None
    # Tracking (engine/tracking.py): a folder for TensorBoard event files, DIR/<study>/trial-N
    # (`--tensorboard DIR`), and an MLflow tracking URI (`--mlflow sqlite:///mlflow.db`).
    tensorboard: str | None = None
    mlflow: str | None = None
    # Start a new study with an earlier study's finished trials that fit the space (`--warm-from`),
    # and run given configurations first (`--enqueue`: a YAML/JSON file, or a list of dicts):
    # engine/carry_on.py.
    warm_from: str | None = None
    enqueue: Any = None
    # Made by `tuneyard.search`: errors name its arguments (warm_from=), not the CLI's flags.
    api: bool = False

    def __post_init__(self) -> None:
        # Made by tuneyard.search: every check below names its arguments, not the CLI's flags.
        with api_words() if self.api else contextlib.nullcontext():
            self._check()

    def _check(self) -> None:
        """Check and normalise every option (see the class docstring)."""
        if self.timeout is not None:
            self.timeout = parse_duration(self.timeout, named("timeout"))
            if self.timeout_grace is None:
                self.timeout_grace = default_grace(self.timeout)
        if self.trial_timeout is not None:
            self.trial_timeout = parse_duration(self.trial_timeout, named("trial_timeout"))
        for name, least in (("workers", 1), ("max_failures", 1), ("trials", 1),
                            ("budget_epochs", 1), ("epochs", 1), ("trials_per_process", 0),
                            ("trials_per_gpu", 1)):
            value = getattr(self, name)
            if value is not None and value < least:
                flag = named(name)
                rule = "0 (never restart) or more" if least == 0 else f"at least {least}"
                raise TuneyardError(f"{flag} must be {rule}, got {value}")
        self.precision = check_precision(self.precision)
        check_tracking(self.tensorboard, self.mlflow, api=self.api)
        check_executor(self.executor, self.address, self.gpus)
        if self.address is not None:  # a cluster: its nodes' GPUs and cores, checked when it answers
            self.gpus = ()
            return
        self.gpus = choose_gpus(self.gpus, self.workers, self.trials_per_gpu, self.trials_per_process)
        check_workers_fit(self.workers, gpu_slots=len(self.gpus) * self.trials_per_gpu)


def hyperband_options(max_epochs: int | None, factor: int | None) -> dict:
    """`--max-epochs` and `--factor` as the backend's options (those given only); the
    Hyperband backend checks them, before any data loads."""
    given = {"max_epochs": max_epochs, "factor": factor}
    return {k: v for k, v in given.items() if v is not None}


EXECUTORS = ("local", "ray")


def check_executor(executor: str, address: str | None, gpus: Any) -> None:
    """Refuse an unknown executor, --address without Ray or where nothing answers, and --gpus
    on a Ray cluster."""
    if executor not in EXECUTORS:
        raise TuneyardError(f"unknown executor '{executor}'; valid executors: {', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise TuneyardError(f"{given('address', address)} names a Ray cluster: add "
                            f"{given('executor', 'ray')}")
    if address is not None and gpus is not None:
        raise TuneyardError(f"{named('gpus')} picks GPUs of this machine; on a Ray "
                            "cluster each node offers its own (ray start --num-gpus N, or "
                            f"CUDA_VISIBLE_DEVICES on the node): drop {named('gpus')}")
    if executor == "ray":
        require_ray()
    if address is not None:
        check_answers(address)  # now, in one line: Ray's own retries take minutes
