"""The study a sweep runs on, resolved once when it opens, and what a sweep leaves.

`open_session` creates, resumes or joins the study (shared.py for a study many
workers share) and returns a `StudySession`: the store, the ledger that counts its
trials, how trials are claimed (claims.py) and the budget every runner shares. The
sweep loop (sweep.py) runs on that value; nothing sets its parts afterwards.
`SweepResult` is what `Sweep.run` returns, and all the CLI, the API and the race
read of a sweep once it has run (or been interrupted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneyard.analysis.ledger import Ledger
from tuneyard.engine.claims import LocalClaims, SharedClaims
from tuneyard.engine.shared import open_shared
from tuneyard.space.core import Space
from tuneyard.store.optuna_store import Store


@dataclass(frozen=True)
class StudySession:
    """One sweep's study, open: its store, ledger, claims and the budget all runners share."""

    store: Store
    ledger: Ledger
    claims: LocalClaims
    budget: int


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will run, known before it opens the study (the CLI's first line)."""

    study: str
    space: Space
    backend: str
    budget: int  # asked for, or the backend's default; a joined study may hold another
    folder: Path
    csv_path: Path


@dataclass(frozen=True)
class SweepResult:
    """What a sweep leaves, read from its study as the store has it at the end."""

    study: str
    metric: str
    folder: Path
    csv_path: Path
    leaderboard: Any  # the ranked pandas DataFrame of every trial of the study
    rows: list[dict]  # leaderboard rows (every runner's trials), in trial order
    done: int  # finished trials that spend the budget
    budget: int
    best: float | None
    all_failed: str | None  # "all N trials failed; first error: ..." when none succeeded
    timed_out: bool  # --timeout's budget ended the sweep


def open_session(store: Store, space: Space, config: dict, *, budget: int, asked: int | None,
                 shared: bool, fresh: bool, sampler: Any, pruner: Any,
                 events: Any) -> StudySession:
    """Create, resume or join the study in `store`; the session the sweep loop runs on.

    `budget` is this runner's; a joiner of a shared study takes the stored one unless it
    was `asked` for another (shared.py).
    """
    if shared:
        budget = open_shared(store, space, config, budget=budget, asked=asked, fresh=fresh,
                             sampler=sampler, pruner=pruner, events=events)
    else:
        store.open_for_sweep(space, config, sampler, fresh, pruner)
    ledger = Ledger(store, budget)
    ledger.refresh()
    claims = SharedClaims(store) if shared else LocalClaims(store)
    return StudySession(store=store, ledger=ledger, claims=claims, budget=budget)
