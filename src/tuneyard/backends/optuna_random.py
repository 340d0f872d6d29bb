"""Optuna's RandomSampler as a backend: `random` on a shared server storage.

On SQLite `random` is Keras Tuner's RandomSearch; on a PostgreSQL/MySQL study that
many workers share, `random` is this one, because only Optuna strategies can be
coordinated through the storage.
"""

from __future__ import annotations

from tuneyard.backends.base import Backend
from tuneyard.backends.tpe import ask_seeded, enqueue_optuna, marked
from tuneyard.records.trial import Proposal
from tuneyard.space.optuna import suggest_space


class OptunaRandomBackend(Backend):
    """Uniform random proposals from `study.ask()` with Optuna's seeded RandomSampler."""

    name = "random"
    optuna_native = True
    enqueue_whole = False  # Optuna samples what a configuration leaves out

    def ask(self) -> Proposal | None:
        trial = ask_seeded(self.study, self.seed)
        params = suggest_space(trial, self.space)
        return Proposal(params=params, epochs=self.epochs, key=f"random-{trial.number}",
                        trial=trial, extra=marked(trial))

    def enqueue(self, configs: list[dict]) -> int:
        return enqueue_optuna(self.study, configs)

