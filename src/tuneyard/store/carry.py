"""Trials of an earlier study carried into a new one (`--warm-from`).

A finished trial of the earlier study is carried when each of its hyperparameters is
present and inside the new space (space/configs.py `misfit`) and it has a finite value
of the new space's objective. It is added to the new study as a finished Optuna trial
(`study.add_trials`, Optuna's public way), with its value, its per-epoch values and its
stored result, marked `warm_from` "<study>#<number>": Optuna's samplers and pruners
learn from it as from any finished trial, while the ledger and the leaderboard know it
was not run here (status WARM: never counted against the budget, never ranked).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tuneyard.records.attributes import ENQUEUED, RESULT_ATTR, RUNNER, SURPLUS, WARM_FROM
from tuneyard.space.configs import misfit
from tuneyard.space.core import Space
from tuneyard.space.optuna import distribution

NOT_COPIED = (RUNNER, SURPLUS, ENQUEUED)  # about the earlier run's processes, not the result


@dataclass
class Carry:
    """What an earlier study offers a new space: the trials that fit, and why others do not."""

    source: str
    chosen: list[tuple[Any, float]] = field(default_factory=list)  # (FrozenTrial, value)
    skipped: Counter = field(default_factory=Counter)  # reason -> trials

    def skipped_text(self) -> str:
        """'skipped 3: units outside ... (2), no finite val_mse (1)', or '' when none were."""
        if not self.skipped:
            return ""
        reasons = ", ".join(f"{why} ({n})" for why, n in self.skipped.most_common())
        return f"skipped {sum(self.skipped.values())}: {reasons}"


def choose(source: str, trials: list, space: Space, earlier_metric: str | None) -> Carry:
    """The earlier study's COMPLETE trials that fit `space`, with their value of its metric."""
    carry = Carry(source)
    for trial in trials:
        if trial.state.name != "COMPLETE":
            continue
        value = _value(trial, space.metric, earlier_metric)
        why = misfit(space, dict(trial.params))
        if why is None and (value is None or not math.isfinite(value)):
            why = f"no finite {space.metric}"
        if why is None:
            carry.chosen.append((trial, float(value)))
        else:
            carry.skipped[why] += 1
    return carry


def add_carried(store: Any, space: Space, carry: Carry) -> int:
    """Add the chosen trials to the store's (new) study as finished trials; how many."""
    # heavy: optuna
    import optuna

    made = []
    for trial, value in carry.chosen:
        label = trial.user_attrs.get(WARM_FROM) or f"{carry.source}#{trial.number}"
        attrs = {k: v for k, v in trial.user_attrs.items() if k not in NOT_COPIED}
        result = dict(attrs.get(RESULT_ATTR) or {})
        result["extra"] = {"warm_from": label}  # the earlier backend's details name its own trials
        attrs.update({WARM_FROM: label, RESULT_ATTR: result})
        same_metric = value == trial.value
        try:
            made.append(optuna.trial.create_trial(
                params=dict(trial.params),
                distributions={name: distribution(space.param(name)) for name in trial.params},
                value=value, user_attrs=attrs,
                # Per-epoch values of the objective only: pruners compare them with this study's.
                intermediate_values=dict(trial.intermediate_values) if same_metric else {}))
        except ValueError:  # a value our tolerance takes and Optuna's distribution does not
            carry.skipped["a value off the new space's step"] += 1
    with store.guard():
        store.study.add_trials(made)
    return len(made)


def _value(trial: Any, metric: str, earlier_metric: str | None) -> float | None:
    if earlier_metric == metric:
        return trial.value
    metrics = (trial.user_attrs.get(RESULT_ATTR) or {}).get("metrics") or {}
    value = metrics.get(metric)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
