"""Keras pieces shared by the model builders: params, optimizers, schedules, layers.

This module imports Keras at the top; workloads import it only inside `load`
(to register the schedule class) and `build_model`, so `import
tuneyard.workloads` stays free of TensorFlow.
"""

from __future__ import annotations

import math

import keras
import numpy as np

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw")
DEFAULT_LR_DECAY = {"rate": 0.5, "every_epochs": 5, "min_lr": 1e-6}
# Used when a search space does not tune them: Adam at its usual rate, no regularisation.
COMMON_DEFAULTS = {"learning_rate": 1e-3, "optimizer": "adam", "dropout": 0.0, "l2": 0.0}


def model_params(params: dict, options: dict) -> dict:
    """Params over options: a space's `fixed` settings reach the builder through options."""
    return {**options, **params}


def require(params: dict, key: str, workload: str):
    """Return params[key] or raise a ValueError naming the missing hyperparameter."""
    if key not in params:
        known = ", ".join(sorted(params)) or "none"
        raise ValueError(
            f"{workload} needs hyperparameter {key!r} but params and fixed settings only "
            f"have: {known}; add it to the search space (hyperparameters or fixed)"
        )
    return params[key]


def int_param(params: dict, key: str, workload: str, low: int, high: int, default=None) -> int:
    """An integer hyperparameter within [low, high]; `default` when absent (if given)."""
    value = params.get(key, default) if default is not None else require(params, key, workload)
    # YAML, Optuna and numpy hand back 64, 64.0 or np.int64 for the same setting.
    if isinstance(value, np.integer) or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{workload}: {key} must be an integer in {low}..{high}, got {value!r}")
    return value


def common_params(params: dict, workload: str) -> dict:
    """learning_rate, optimizer, dropout and l2 with defaults, checked."""
    merged = {key: params.get(key, default) for key, default in COMMON_DEFAULTS.items()}
    if merged["optimizer"] not in OPTIMIZERS:
        raise ValueError(
            f"{workload}: optimizer must be one of {', '.join(OPTIMIZERS)}, "
            f"got {merged['optimizer']!r}"
        )
    if not float(merged["learning_rate"]) > 0:
        raise ValueError(f"{workload}: learning_rate must be > 0, got {merged['learning_rate']!r}")
    if not 0 <= float(merged["dropout"]) < 1:
        raise ValueError(f"{workload}: dropout must be in [0, 1), got {merged['dropout']!r}")
    if not float(merged["l2"]) >= 0:
        raise ValueError(f"{workload}: l2 must be >= 0, got {merged['l2']!r}")
    return merged


@keras.saving.register_keras_serializable(package="tuneyard")
class FlooredExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Staircase exponential decay that never drops below `min_lr`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, min_lr, staircase=True):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.min_lr = float(min_lr)
        self.staircase = bool(staircase)
        self._decay = keras.optimizers.schedules.ExponentialDecay(
            self.initial_learning_rate, self.decay_steps, self.decay_rate, staircase=self.staircase
        )

    def __call__(self, step):
        return keras.ops.maximum(self._decay(step), self.min_lr)

    def get_config(self):
        """Everything needed to rebuild the schedule (model saving calls this)."""
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "min_lr": self.min_lr,
            "staircase": self.staircase,
        }


def lr_decay_settings(params: dict, options: dict) -> dict | None:
    """The decay dict from options (preferred) or a truthy params['lr_decay'], else None."""
    chosen = options.get("lr_decay") or params.get("lr_decay")
    if not chosen:
        return None
    # `True` (or a partial mapping) means the course's classic halving every 5 epochs.
    return {**DEFAULT_LR_DECAY, **(chosen if isinstance(chosen, dict) else {})}


LR_SCHEDULES = ("none", "cosine")


def schedule_epochs(params: dict, options: dict, workload: str) -> int:
    """The epochs a cosine schedule spans: `decay_epochs` (a fixed setting), else the trainer's
    `epochs` option. Fixed, not the proposal's budget, so a Hyperband trial warm-started from
    its parent's model and optimizer state follows the same schedule to the same end."""
    value = params.get("decay_epochs", options.get("epochs"))
    if value is None:
        raise ValueError(
            f"{workload}: lr_schedule 'cosine' needs the epochs it spans; add decay_epochs "
            "(for example the space's epochs, or Hyperband's max_epochs) to the space's fixed settings"
        )
    return int_param({"decay_epochs": value}, "decay_epochs", workload, 1, 100_000)


def learning_rate(common: dict, params: dict, dataset, options: dict, workload: str = "model"):
    """A float learning rate, a cosine decay to 0 (`lr_schedule: cosine`) over `decay_epochs`,
    or a floored exponential decay when `lr_decay` asks for it."""
    rate = float(common["learning_rate"])
    steps_per_epoch = math.ceil(len(dataset.x_train) / int(options.get("batch_size", 32)))
    kind = params.get("lr_schedule", "none")
    if kind not in LR_SCHEDULES:
        raise ValueError(f"{workload}: lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {kind!r}")
    if kind == "cosine":
        epochs = schedule_epochs(params, options, workload)
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=epochs * steps_per_epoch)
    decay = lr_decay_settings(params, options)
    if decay is None:
        return rate
    return FlooredExponentialDecay(
        rate,
        decay_steps=max(1, int(decay["every_epochs"] * steps_per_epoch)),
        decay_rate=decay["rate"],
        min_lr=decay["min_lr"],
    )


def make_optimizer(common: dict, params: dict, dataset, options: dict, workload: str = "model"):
    """The optimizer named in params: sgd (momentum 0.9), rmsprop, adam or adamw."""
    lr = learning_rate(common, params, dataset, options, workload)
    name = common["optimizer"]
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=lr)
    return keras.optimizers.Adam(learning_rate=lr)


def regularizer(common: dict):
    """L2 on hidden kernels, or None when l2 is 0 (no useless zero penalty in model.losses)."""
    l2 = float(common["l2"])
    return keras.regularizers.L2(l2) if l2 > 0 else None


def maybe_dropout(common: dict) -> list:
    """A Dropout layer (a no-op at inference) when dropout > 0, else nothing."""
    rate = float(common["dropout"])
    return [keras.layers.Dropout(rate)] if rate > 0 else []


def compile_classifier(model, optimizer, options: dict):
    """Sparse categorical cross-entropy with accuracy (history: accuracy / val_accuracy)."""
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=options.get("jit_compile", "auto"),
    )
    return model


def compile_regressor(model, optimizer, options: dict):
    """MSE loss plus a pure MSE metric (history: mse / val_mse, free of the L2 penalty)."""
    model.compile(
        optimizer=optimizer,
        loss="mse",
        metrics=[keras.metrics.MeanSquaredError(name="mse")],
        jit_compile=options.get("jit_compile", "auto"),
    )
    return model
