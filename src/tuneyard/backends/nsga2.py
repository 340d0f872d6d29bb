"""The nsga2 backend: Optuna's seeded NSGAIISampler, define-by-run over the space.

A genetic algorithm for several objectives (it searches one as well): each generation of
`population_size` trials is bred from the best fronts of those before; the first
generation is random.
"""

from __future__ import annotations

from typing import Any

from tuneyard.backends.base import Backend
from tuneyard.backends.tpe import ask_seeded
from tuneyard.records.trial import Proposal
from tuneyard.space.core import Space
from tuneyard.space.optuna import suggest_space

MAX_POPULATION = 50  # Optuna's default population


def population_for(trials: int | None) -> int:
    """The generation's size: Optuna's 50, at most a third of the budget, at least 4
    (in a 30-trial budget the default would leave NSGA-II no generation to breed)."""
    if trials is None:
        return MAX_POPULATION
    return max(4, min(MAX_POPULATION, trials // 3))


class NSGA2Backend(Backend):
    """Optuna NSGA-II: proposals come from `study.ask()`, results go back with the store's tell."""

    name = "nsga2"
    optuna_native = True

    @classmethod
    def make_sampler(cls, space: Space, seed: int, trials: int | None = None) -> Any:
        # heavy: optuna
        import optuna

        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population_for(trials))

    def ask(self) -> Proposal | None:
        trial = ask_seeded(self.study, self.seed)
        params = suggest_space(trial, self.space)
        return Proposal(params=params, epochs=self.epochs, key=f"nsga2-{trial.number}",
                        trial=trial)
