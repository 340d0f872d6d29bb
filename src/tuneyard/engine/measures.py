"""What tuneyard measures of a trained model, for objectives and leaderboard columns.

Measured only when a space's objectives (or `training.measure`) name them, once per trial,
on the first execution's model at its best epoch (the model the sweep would keep):

- `params`: `model.count_params()`, trainable and not.
- `saved_bytes`: the size of the model saved as a .keras file (a scratch file, deleted):
  what `model.save` writes, the optimizer's state included (Adam's two moments triple it).
- `latency_ms`: milliseconds per sample of `predict_on_batch` on a fixed batch of
  LATENCY_BATCH validation samples (fewer when the validation split is smaller), after
  WARMUP calls (the first traces the predict function), the median of REPEATS timed calls,
  divided by the batch's size. On the device the trial trained on, single-threaded or not
  as the worker is: compare latencies within one study, not across machines.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

LATENCY_BATCH = 32
WARMUP = 2
REPEATS = 5


def measure_model(model: Any, dataset: Any, names: tuple[str, ...]) -> dict:
    """The measures called `names` of a trained Keras model, by name."""
    out: dict[str, float | int] = {}
    if "params" in names:
        out["params"] = int(model.count_params())
    if "saved_bytes" in names:
        out["saved_bytes"] = saved_bytes(model)
    if "latency_ms" in names:
        out["latency_ms"] = latency_ms(model, sample_batch(dataset, LATENCY_BATCH))
    return out


def saved_bytes(model: Any) -> int:
    """Bytes of the model saved as a .keras file."""
    with tempfile.TemporaryDirectory(prefix="tuneyard-size-") as folder:
        path = Path(folder) / "model.keras"
        model.save(str(path))
        return path.stat().st_size


def latency_ms(model: Any, batch: Any) -> float:
    """Median milliseconds per sample of `predict_on_batch(batch)` after a warm-up."""
    for _ in range(WARMUP):
        model.predict_on_batch(batch)
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        timings.append(time.perf_counter() - start)
    return round(1000.0 * statistics.median(timings) / max(1, _length(batch)), 6)


def sample_batch(dataset: Any, size: int) -> Any:
    """The first `size` validation inputs (training inputs when there are none)."""
    for name in ("x_val", "x_train"):
        x = getattr(dataset, name, None)
        if x is not None and _length(x):
            return x[:size]
    raise ValueError("no validation or training inputs to time the model on")


def _length(x: Any) -> int:
    shape = getattr(x, "shape", None)
    return int(shape[0]) if shape else len(x)
