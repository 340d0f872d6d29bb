"""A cheap objective with no TensorFlow, for running backends through the real runner and store."""

import math
import sys

from tuneyard.testing import InstantTrainer

SPACE = """\
name: cheap
workload: tuneyard.testing:TinyRegression
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 16, max_epochs: 9, factor: 3}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3, 1.0e-2]}
  optimizer: {type: choice, values: [adam, sgd, rmsprop]}
  layers: {type: int, low: 1, high: 2}
  units_2: {type: int, low: 32, high: 96, step: 32, when: {layers: [2]}}
"""


# The shipped sine workload without its LSTM (lstm_layers 0: Dense layers on the window), for
# tests of what happens around real Keras training: an LSTM's trial costs about three times a
# Dense one's here (its graph takes seconds to trace, under TensorFlow and JAX alike).
SINE_DENSE = """\
name: sine_dense
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 2, batch_size: 32, patience: 3, validation_split: 0.2}
fixed: {window: 20, lstm_layers: 0}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  optimizer: {type: choice, values: [sgd, rmsprop, adam, adamw]}
  dropout: {type: float, low: 0.0, high: 0.5}
  units: {type: int, low: 8, high: 32, step: 8}
"""


def write_sine_dense(folder) -> str:
    """SINE_DENSE as a space file in `folder`; its path."""
    path = folder / "sine_dense.yaml"
    path.write_text(SINE_DENSE)
    return str(path)


def formula(p: dict) -> float:
    """The cheap space's objective: best near learning_rate 10**-2.5 with adam."""
    base = (math.log10(p["learning_rate"]) + 2.5) ** 2 + 0.1 * (p["optimizer"] != "adam")
    return base + 0.01 * p.get("units_2", 0) / 32


def tensorflow_loaded(params: dict) -> bool:
    """A failure rule: the trial fails in a process that has imported TensorFlow (a worker
    of a stand-in trainer should not pay for it)."""
    return "tensorflow" in sys.modules


class CheapTrainer(InstantTrainer):
    """tuneyard.testing's InstantTrainer on the cheap formula; optionally interrupts on cue."""

    def __init__(self, fail_when=None, interrupt_at=None, in_worker_processes=False):
        super().__init__(formula, metric="val_mse", fail_when=fail_when,
                         in_worker_processes=in_worker_processes)
        self.interrupt_at = interrupt_at

    def run(self, proposal, callbacks=None):
        if self.interrupt_at is not None and len(self.calls) + 1 == self.interrupt_at:
            self.calls.append(proposal)
            raise KeyboardInterrupt
        result = super().run(proposal, callbacks)
        if result.status == "FAIL":
            result.error = "ValueError: cheap failure"
        return result


class DeviceTrainer(CheapTrainer):
    """The cheap trainer run in worker processes, saying in its metrics what its process was
    given: `seen_gpu` its CUDA_VISIBLE_DEVICES (-1 when unset or empty), `growth` 1 when
    TF_FORCE_GPU_ALLOW_GROWTH is "true", and when it trained (`t_start`, `t_end`), each
    trial taking `seconds` (four times that on the GPU `slow_gpu`). `die_once`: a file path;
    the first trial to find it missing makes it and kills its process, as a lost GPU can."""

    def __init__(self, seconds: float = 0.0, slow_gpu: str | None = None, die_once: str | None = None):
        super().__init__(in_worker_processes=True)
        self.seconds, self.slow_gpu, self.die_once = seconds, slow_gpu, die_once

    def run(self, proposal, callbacks=None):
        import os
        import time

        if self.die_once and not os.path.exists(self.die_once):
            open(self.die_once, "w").close()
            os._exit(3)
        start = time.time()
        slow = self.slow_gpu is not None and os.environ.get("CUDA_VISIBLE_DEVICES") == self.slow_gpu
        time.sleep(self.seconds * (4 if slow else 1))
        result = super().run(proposal, callbacks)
        result.metrics.update(
            seen_gpu=float(os.environ.get("CUDA_VISIBLE_DEVICES") or "-1"),
            growth=float(os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH") == "true"),
            t_start=start, t_end=time.time())
        return result


class RayNodeTrainer(CheapTrainer):
    """The cheap trainer on Ray, saying in its metrics whether its trial ran on the Ray node
    `hold_on` (`on_node` 1.0), each trial taking `seconds`. The `after`th trial to reach that
    node writes its pid to the file `held` (atomically: one trial only) and stays there until
    it is killed: the test kills the node (or presses Ctrl-C) when the file appears."""

    def __init__(self, hold_on: str, held: str, seconds: float = 0.0, after: int = 3):
        super().__init__(in_worker_processes=True)
        self.hold_on, self.held, self.seconds, self.after = hold_on, held, seconds, after

    def run(self, proposal, callbacks=None):
        import os
        import time

        import ray

        on_node = ray.get_runtime_context().get_node_id() == self.hold_on
        if on_node:
            with open(self.held + ".count", "a") as count:
                count.write("+")
            try:
                if os.path.getsize(self.held + ".count") >= self.after:
                    made = os.open(self.held + ".tmp", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                    os.write(made, str(os.getpid()).encode())
                    os.close(made)
                    os.rename(self.held + ".tmp", self.held)  # whole when it appears
                    time.sleep(120)  # killed with its node (or by Ctrl-C) long before
            except FileExistsError:
                pass
        time.sleep(self.seconds)
        result = super().run(proposal, callbacks)
        result.metrics.update(on_node=float(on_node))
        return result


class DataTrainer(CheapTrainer):
    """The cheap trainer that asks Ray for the space's dataset (`wants_data`: each actor is
    handed its node's); its metrics say the dataset's first value (`x0`) and whether its
    arrays are the object store's, shared and read-only (`shared` 1.0)."""

    wants_data = True

    def __init__(self):
        super().__init__(in_worker_processes=True)
        self.dataset = None

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        x = self.dataset.x_train
        result.metrics.update(x0=float(x[0, 0]), shared=float(not x.flags.writeable))
        return result


PARETO_SPACE = """\
name: cheap_pareto
workload: tuneyard.testing:TinyRegression
objectives:
  - {metric: val_mse, direction: minimize}
  - {metric: params, direction: minimize}
training: {epochs: 2, batch_size: 16}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-3, 3.0e-3]}
  units: {type: int, low: 8, high: 64, step: 8, grid: [8, 16, 32, 64]}
"""


def pareto_formula(p: dict) -> float:
    """val_mse of the Pareto space: more units fit better (and cost more parameters)."""
    return (math.log10(p["learning_rate"]) + 2.5) ** 2 + 8.0 / p["units"]


def pareto_params(p: dict) -> int:
    """The parameter count a stand-in model of `units` units would have."""
    return 10 * p["units"] + 1


class ParetoTrainer(InstantTrainer):
    """The instant trainer on pareto_formula, measuring `params` as tuneyard would."""

    def __init__(self):
        super().__init__(pareto_formula, metric="val_mse")

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        result.measures = {"params": pareto_params(proposal.params)}
        return result


class TrackedTrainer(CheapTrainer):
    """The cheap trainer with every ending a tracker shows (tests/test_tracking.py): sgd
    fails, rmsprop is pruned after reporting its first epoch, the others complete and save a
    stand-in model file where the sweep asks (`save_best_to`), so the study keeps a
    best.keras. The optimizer `hang_on` reports its first epoch, then hangs until its
    process is killed (--trial-timeout)."""

    def __init__(self, hang_on: str | None = None):
        super().__init__(fail_when=_is_sgd, in_worker_processes=hang_on is not None)
        self.hang_on = hang_on

    def run(self, proposal, callbacks=None):
        import time

        from tuneyard.engine.epochs import EpochHook
        from tuneyard.records.trial import PRUNED, TrialResult

        optimizer = proposal.params["optimizer"]
        if optimizer in ("rmsprop", self.hang_on):
            value = formula(proposal.params) + 1.0
            for hook in (c for c in callbacks or [] if isinstance(c, EpochHook)):
                hook(1, proposal.epochs, {"loss": value, "val_mse": value})
            while optimizer == self.hang_on:
                time.sleep(0.05)
            return TrialResult(status=PRUNED, history={"loss": [value], "val_mse": [value]},
                               epochs_run=1, seconds=0.001)
        result = super().run(proposal, callbacks)
        better = proposal.beat is None or (result.value is not None and result.value < proposal.beat)
        if result.ok and proposal.save_best_to and better:
            from tuneyard.atomic import write_with

            write_with(proposal.save_best_to,
                       lambda tmp: tmp.write_bytes(f"trial {proposal.params}".encode()))
            result.saved_model = proposal.save_best_to
        return result


def _is_sgd(params: dict) -> bool:
    return params["optimizer"] == "sgd"
