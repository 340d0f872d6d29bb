"""Carrying earlier work on: `--warm-from STUDY` and `--enqueue FILE` for one sweep.

`--warm-from` starts a new study with the finished trials of an earlier one (in the same
storage) that fit the new space: they are added to the study as finished trials, so
Optuna's samplers learn from them; the grid skips their points; Keras Tuner's random and
bayes oracles are told them as ended trials. They are marked (status WARM, `x_warm_from`),
never ranked and never counted against the budget: `--trials 20` still runs 20 trials.

`--enqueue` runs given configurations before the backend proposes its own: Optuna's
`enqueue_trial` for tpe (a configuration may leave hyperparameters out: Optuna samples
them), the grid's points first, a Keras Tuner oracle's first proposals. They count
against the budget like any trial the study runs.

Both are checked when the sweep is made, before any data loads or any study is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneyard.errors import BackendError, StoreError, option
from tuneyard.records.attributes import WARM
from tuneyard.space.configs import checked, load_configurations
from tuneyard.space.core import Space
from tuneyard.store.carry import Carry, add_carried, choose
from tuneyard.store.optuna_store import Store
from tuneyard.store.study_changes import changed_fields


class CarryOn:
    """A sweep's --warm-from and --enqueue: checked at once, applied as the study opens."""

    def __init__(self, options: Any, space: Space, backend_cls: Any, study: str):
        self.api, self.space, self.study = options.api, space, study
        self.warm_from: str | None = options.warm_from
        self.configs: list[dict] | None = None
        self.carry: Carry | None = None
        self.earlier_config: dict = {}
        self.changes: list[str] = []  # how the earlier study's space and settings differ
        if self.warm_from is not None:
            self._refused_by(backend_cls, "warm_from", "trials of an earlier study")
            if self.warm_from == study:
                raise StoreError(
                    f"{self._said('warm_from')} {self.warm_from} names the study this run "
                    f"would use; give the new study its own name with {self._said('study')}")
        if options.enqueue is not None:
            self._refused_by(backend_cls, "enqueue", "configurations to run first")
            self.configs = self._configurations(options.enqueue, backend_cls)

    def _said(self, name: str) -> str:
        return option(name, self.api)

    def _refused_by(self, backend_cls: Any, name: str, what: str) -> None:
        why = backend_cls.refuses(what)
        if why:
            raise BackendError(f"{self._said(name)}: {why}")

    def _configurations(self, given: Any, backend_cls: Any) -> list[dict]:
        if isinstance(given, str | Path):
            where = f"enqueue={str(given)!r}" if self.api else f"--enqueue {given}"
            given = load_configurations(str(given))
        else:
            where = self._said("enqueue")
        return checked(self.space, given, where, whole=backend_cls.enqueue_whole,
                       grid=backend_cls.name == "grid")

    def read_earlier(self, store: Store, fresh: bool, config: dict) -> None:
        """Before any data loads: the earlier study and the trials of it that fit.

        The study being run must be new (or started over with --fresh), or one this
        same --warm-from made (then it resumes, carrying nothing again)."""
        if self.warm_from is None:
            return
        if store.exists() and not fresh:
            made_from = store.load().user_attrs.get("tuneyard", {}).get("warm_from")
            if made_from != self.warm_from:
                raise StoreError(
                    f"study '{self.study}' exists already, not warm-started from "
                    f"'{self.warm_from}'; {self._said('warm_from')} starts a new study: give it "
                    f"a new {self._said('study')} name, or pass "
                    f"{'fresh=True' if self.api else '--fresh'} to start '{self.study}' over")
            return
        earlier = Store(store.url, self.warm_from)
        try:
            try:
                earlier.load()
            except StoreError as exc:  # "no study 'x' in ...; studies there: ..."
                said = f"warm_from={self.warm_from!r}" if self.api else f"--warm-from {self.warm_from}"
                raise StoreError(f"{said}: {exc}") from None
            self.earlier_config = earlier.config
            self.carry = choose(self.warm_from, earlier.trials(), self.space,
                                self.earlier_config.get("metric"))
        finally:
            earlier.close()
        self.changes = changed_fields(self.earlier_config, config) or []

    def write(self, store: Store, budget: int, events: Any) -> None:
        """Once the new study exists: add the chosen trials (only to a study with none yet)."""
        if self.carry is None or store.trials():
            return
        carried = add_carried(store, self.space, self.carry) if self.carry.chosen else 0
        offered = carried + sum(self.carry.skipped.values())
        skipped = self.carry.skipped_text()
        events.message(
            f"carried {carried} of {_n(offered, 'finished trial')} from study {self.warm_from}"
            + (f" ({skipped})" if skipped else "")
            + (f"; they inform the search and do not count against the {budget}-trial budget"
               if carried else "; the study starts cold"))
        if self.changes and carried:
            events.message(f"study {self.warm_from} differs in: {'; '.join(self.changes[:8])} "
                           "(the carried values were measured with its settings)")

    def tell(self, backend: Any, rows: list[dict], events: Any) -> None:
        """Once the backend is made: the carried trials and the configurations to run first."""
        warm = [r for r in rows if r["status"] == WARM]
        if warm:
            said = backend.carry(warm)
            if said:
                events.message(said)
        if self.configs:
            queued = backend.enqueue(self.configs)
            left = len(self.configs) - queued
            if queued:
                events.message(f"enqueued {_n(queued, 'configuration')} to run first"
                               + (f" ({left} more already ran or are queued)" if left else ""))
            else:
                events.message(f"enqueue: all {_n(left, 'configuration')} given already ran or "
                               "are queued in this study")

def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
