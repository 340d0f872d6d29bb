"""The precision a trial trains in: `--precision`, else the space's `training: {precision: ...}`.

`mixed` is mixed float16 on a GPU and mixed bfloat16 on a CPU that computes bfloat16 in
hardware (its flags, read as `tune devices` reads them: hardware.py); on a CPU without it
the trial trains in float32 and the sweep says so once. The policy is Keras' global dtype
policy, set in the process that trains right before each model is built (after
`clear_session`, which resets it) and put back after the trial as it was before, so a
notebook's later Keras work is unchanged. Under a mixed policy layers compute in
float16/bfloat16 and keep float32 variables; the output layer should say dtype="float32" so
that the loss and metrics are computed in float32. The shipped workloads' do; a model whose
output is not float32 gets one warning a sweep (the trial is not failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tuneyard.engine.devices import visible_gpus
from tuneyard.engine.hardware import cpu_flags, cpu_has_bfloat16
from tuneyard.errors import TuneyardError, given
from tuneyard.space.core import PRECISIONS

FLOAT32 = "float32"
MIXED = ("mixed_float16", "mixed_bfloat16")
NO_BFLOAT16 = ("--precision mixed: this CPU has no bfloat16 in hardware (neither avx512_bf16 nor "
               "amx_bf16; see `tune devices`), so trials train in float32")


def check_precision(value: Any) -> str | None:
    """`--precision` checked when the options are made (None: the space's default)."""
    if value is None or value in PRECISIONS:
        return value
    raise TuneyardError(f"{given('precision', value)}: unknown precision policy; use one of "
                        f"{', '.join(PRECISIONS)}")


def resolve(requested: str, on_gpu: bool, flags: set[str] | None = None) -> tuple[str, str | None]:
    """The Keras policy that `requested` means on this device, and a notice when it is
    float32 although mixed was asked for (a CPU without bfloat16)."""
    if requested != "mixed":
        return requested, None
    if on_gpu:
        return "mixed_float16", None
    if cpu_has_bfloat16(cpu_flags() if flags is None else flags):
        return "mixed_bfloat16", None
    return FLOAT32, NO_BFLOAT16


def trains_on_gpu(device_used: str) -> bool:
    """Whether this process trains on a GPU: where the Keras backend places a model, or,
    when the backend cannot say (torch), whether any GPU is visible."""
    if device_used:
        return device_used.startswith("gpu")
    return bool(visible_gpus()[0])


def apply(policy: str) -> None:
    """Make `policy` Keras' global dtype policy (before a model is built)."""
    # heavy: keras
    import keras

    keras.config.set_dtype_policy(policy)


@contextmanager
def policy_kept() -> Iterator[None]:
    """Put Keras' global dtype policy back, after the block, as it was before it."""
    # heavy: keras
    import keras

    before = keras.config.dtype_policy()
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def output_notice(model: Any, policy: str) -> str | None:
    """One line when a model built under a mixed policy gives a non-float32 output."""
    if policy not in MIXED:
        return None
    dtypes = [d for d in output_dtypes(model) if d != FLOAT32]
    if not dtypes:
        return None
    return (f"under {policy} the model's output is {dtypes[0]}, not float32, so its loss and "
            "metrics are computed in low precision: give the last layer dtype=\"float32\" "
            "(e.g. Dense(10, activation=\"softmax\", dtype=\"float32\"); README, Mixed precision)")


def output_dtypes(model: Any) -> list[str]:
    """The dtypes of a built model's outputs (a subclassed model's: its last layer's)."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):  # a Sequential not built yet, a subclassed model
        outputs = None
    if outputs:
        return [str(getattr(o, "dtype", "")) for o in outputs]
    layers = getattr(model, "layers", None) or []
    return [str(layers[-1].compute_dtype)] if layers else []
