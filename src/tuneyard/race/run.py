"""`tune race`: every backend on one space, the same epoch budget, several seeds.

Each (entry, seed) is one study in the one store, named
`race-<space>-<entry>-s<seed>`, run by the ordinary runner with an epoch budget,
so re-running a race resumes it. The `course` entry is the course's baseline:
Keras Tuner RandomSearch, 5 trials x 3 executions x 10 epochs on the course's
own model and space (`search_spaces/course_<workload>.yaml`, run by the
`random` backend). Tables and the anytime plot are built from what the store
holds (table.py, plot.py). This module never prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneyard.analysis.leaderboard import trial_row
from tuneyard.analysis.ledger import counts_toward_budget
from tuneyard.backends import BACKEND_NAMES
from tuneyard.backends.hyperband import schedule, settings
from tuneyard.engine.sweep import Events, Sweep, SweepOptions
from tuneyard.errors import TuneyardError
from tuneyard.race.plot import anytime_plot
from tuneyard.race.table import table, verdicts, write_table
from tuneyard.space.core import Space
from tuneyard.space.file import load_space, space_folder
from tuneyard.store.optuna_store import Store
from tuneyard.store.paths import results_dir
from tuneyard.workloads.base import DataSetup
from tuneyard.workloads.registry import get_workload

COURSE = "course"
ENTRIES = (*BACKEND_NAMES, COURSE)
DEFAULT_ENTRIES = ("grid", "random", "hyperband", "bayes", "tpe", COURSE)
COURSE_TRIALS = 5  # Keras Tuner RandomSearch(max_trials=5) in the course


@dataclass
class RaceOptions:
    """Everything `tune race` can set; `trainer_factory(space, seed)` lets tests inject a trainer."""

    space: str
    entries: tuple[str, ...] = DEFAULT_ENTRIES
    budget_epochs: int = 150
    repeats: int = 3
    seed: int = 0
    subset: int | None = None
    data_dir: str | None = None
    storage: str | None = None
    verbose: bool = False
    course_space: str | None = None  # default: course_<workload of the space>
    report_only: bool = False  # read the stored studies, train nothing
    trainer_factory: Callable[[Space, int], Any] | None = None

    @property
    def seeds(self) -> list[int]:
        """The seeds every entry runs with."""
        return [self.seed + i for i in range(self.repeats)]


@dataclass
class StudyRun:
    """One entry x seed of a race, read back from the store."""

    entry: str
    seed: int
    study: str
    trials: list[dict]  # in run order: epochs, value, status
    wall_s: float
    floor: float | None = None
    bound: float | None = None  # the workload's references: the best bound on the inputs
    fitted: float | None = None  # and that bound fitted on the training split only


@dataclass
class Race:
    """A race's space, options and every study run, plus where its files go."""

    space: Space
    options: RaceOptions
    runs: list[StudyRun] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        """results/race-<space>/"""
        return results_dir() / f"race-{self.space.name}"

    def floors(self) -> dict[int, float]:
        """The noise floor of each seed's validation split (where the workload has references)."""
        return {r.seed: r.floor for r in self.runs if r.floor is not None}

    def bounds(self) -> dict[int, float]:
        """The workload's best bound on each seed's split (where it has references)."""
        return {r.seed: r.bound for r in self.runs if r.bound is not None}

    def fitted(self) -> dict[int, float]:
        """That bound fitted on each seed's training split (where it has references)."""
        return {r.seed: r.fitted for r in self.runs if r.fitted is not None}


def parse_entries(text: str) -> tuple[str, ...]:
    """The comma-separated --backends list, checked: unknown names are refused."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise TuneyardError(f"--backends is empty; valid backends: {', '.join(ENTRIES)}")
    unknown = [n for n in names if n not in ENTRIES]
    if unknown:
        raise TuneyardError(f"unknown backend '{unknown[0]}' in --backends; valid backends: "
                            f"{', '.join(ENTRIES)}")
    return tuple(dict.fromkeys(names))


def course_space_name(space: Space, options: RaceOptions) -> str:
    """The course baseline's space for this race's workload."""
    return options.course_space or f"course_{space.workload}"


def least_budget(entry: str, space: Space, course: Space | None = None) -> tuple[int, str]:
    """The fewest epochs one trial (or Hyperband's first round) of `entry` needs, and why."""
    if entry == COURSE:
        t = course.training
        return (COURSE_TRIALS * t.epochs * t.executions_per_trial,
                f"{COURSE_TRIALS} trials x {t.executions_per_trial} executions x {t.epochs} epochs")
    repeats = space.training.executions_per_trial
    if entry == "hyperband":
        _, _, size, epochs = schedule(*settings(space, {}))[0]
        return (size * epochs * repeats, f"the first round of its first bracket: {size} trials x "
                f"{epochs} epochs x {repeats} executions")
    epochs = space.training.epochs
    return epochs * repeats, f"one trial: {epochs} epochs x {repeats} executions"


def check(options: RaceOptions) -> tuple[Space, Space | None]:
    """Refuse a race that cannot run, before anything is trained; returns the spaces."""
    if options.repeats < 1:
        raise TuneyardError(f"--repeats must be at least 1, got {options.repeats}")
    if options.budget_epochs < 1:
        raise TuneyardError(f"--budget-epochs must be at least 1, got {options.budget_epochs}")
    space = load_space(options.space)
    course = None
    if COURSE in options.entries:
        name = course_space_name(space, options)
        try:
            course = load_space(name)
        except TuneyardError:
            raise TuneyardError(f"no course baseline for workload {space.workload} (space "
                                f"'{name}' not found); drop '{COURSE}' from --backends") from None
    for entry in options.entries:
        need, why = least_budget(entry, space, course)
        if options.budget_epochs < need:
            raise TuneyardError(
                f"--budget-epochs {options.budget_epochs} is smaller than {why} of {entry} "
                f"({need} epochs); use --budget-epochs {need} or more, or drop {entry}")
    return space, course


def study_name(space: Space, entry: str, seed: int) -> str:
    """race-<space>-<entry>-s<seed>"""
    return f"race-{space.name}-{entry}-s{seed}"


def sweep_options(race: Race, entry: str, seed: int) -> SweepOptions:
    """The runner's options for one entry x seed."""
    o, space = race.options, race.space
    common = {"seed": seed, "subset": o.subset, "data_dir": o.data_dir, "storage": o.storage,
              "verbose": o.verbose, "study": study_name(space, entry, seed),
              "budget_epochs": o.budget_epochs}
    if entry == COURSE:
        return SweepOptions(space=course_space_name(space, o), backend="random",
                            trials=COURSE_TRIALS, **common)
    # Every trial trains at least one epoch per execution: this many trials always suffice.
    trials = max(1, o.budget_epochs // space.training.executions_per_trial)
    backend_options = {}
    # Random starts sized to the trials the epochs buy; a grid is shuffled unless they buy
    # more trials than it has points.
    if entry in ("bayes", "tpe", "grid"):
        full = space.training.epochs * space.training.executions_per_trial
        backend_options["expected_trials"] = max(1, o.budget_epochs // full)
    return SweepOptions(space=o.space, backend=entry, trials=trials,
                        backend_options=backend_options, **common)


def run_race(options: RaceOptions, events: Events | None = None,
             on_study: Callable[[StudyRun], None] | None = None) -> Race:
    """Run (or resume) every entry x seed; returns the race with every study read back."""
    space, _ = check(options)
    race = Race(space, options)
    events = events or Events()
    walls = _load_walls(race.folder)
    for seed in options.seeds:
        for entry in options.entries:
            run = _run_study(race, entry, seed, events, walls)
            if run is None:
                continue
            race.runs.append(run)
            _save_walls(race.folder, walls)
            if on_study:
                on_study(run)
    return race


def _run_study(race: Race, entry: str, seed: int, events: Events,
               walls: dict) -> StudyRun | None:
    o = race.options
    if o.report_only:
        return _read_study(race, entry, seed, walls)
    sweep_opts = sweep_options(race, entry, seed)
    trainer = o.trainer_factory(load_space(sweep_opts.space), seed) if o.trainer_factory else None
    started = time.perf_counter()
    result = Sweep(sweep_opts, trainer=trainer).run(events)
    walls[result.study] = walls.get(result.study, 0.0) + time.perf_counter() - started
    trials = _trial_records(result.rows, _curves(_stored_trials(o.storage, result.study)))
    return StudyRun(entry, seed, result.study, trials, walls[result.study],
                    *_references(race, seed))


def _stored_trials(storage: str | None, name: str) -> list:
    """The study's trials as stored (their learning curves are not in the rows)."""
    store = Store(storage, name)
    store.load()
    trials = store.trials()
    store.close()
    return trials


def _trial_records(rows: list[dict], curves: dict[int, list[float]]) -> list[dict]:
    return [{"epochs": int(r["epochs"] or 0), "value": r["value"], "status": r["status"],
             "curve": curves.get(r["trial"], [])}
            for r in sorted(rows, key=lambda r: r["trial"]) if counts_toward_budget(r)]


def _curves(trials: list) -> dict[int, list[float]]:
    """Each trial's objective at every epoch it trained (its intermediate values, in order)."""
    return {t.number: [v for _, v in sorted(t.intermediate_values.items())] for t in trials}


def _read_study(race: Race, entry: str, seed: int, walls: dict) -> StudyRun | None:
    """A study as stored so far (None when it was never started)."""
    name = study_name(race.space, entry, seed)
    store = Store(race.options.storage, name)
    if not store.exists():
        return None
    store.load()
    trials = store.trials()
    rows = [trial_row(t) for t in trials]
    wall = walls.get(name) or sum(float(r["seconds"] or 0) for r in rows)
    return StudyRun(entry, seed, name, _trial_records(rows, _curves(trials)), wall,
                    *_references(race, seed))


def _references(race: Race, seed: int) -> tuple[float | None, float | None, float | None]:
    """(noise floor, best bound, the bound fitted on the training split) of the seed's
    validation split, from the workload's `references` hook; None where it has none.

    The trials may run in worker processes, so the workload redraws the split here.
    """
    space = race.space
    workload = get_workload(space.workload, space_folder(space))
    refs = workload.references(DataSetup(seed=seed, subset=race.options.subset,
                                         validation_split=space.training.validation_split,
                                         fixed=dict(space.fixed),
                                         searched=frozenset(p.name for p in space.params)))
    return (None, None, None) if refs is None else (refs.floor, refs.bound, refs.fitted)


def _load_walls(folder: Path) -> dict:
    path = folder / "wall_seconds.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_walls(folder: Path, walls: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "wall_seconds.json.tmp"
    tmp.write_text(json.dumps(walls, indent=1, sort_keys=True))
    tmp.replace(folder / "wall_seconds.json")


@dataclass
class RaceReport:
    """What a finished race wrote: the table rows, verdict lines and file paths."""

    rows: list[dict]
    verdicts: list[str]
    floors: dict[int, float]
    csv: Path
    png: Path


def write_report(race: Race) -> RaceReport:
    """results/race-<space>/race.csv and anytime.png, plus the targets' verdicts."""
    space, entries = race.space, list(race.options.entries)
    rows = table(race.runs, space.maximize, entries, COURSE)
    csv_path = race.folder / "race.csv"
    write_table(rows, csv_path)
    floors = race.floors()
    title = (f"race on {space.name}: {race.options.budget_epochs} epochs per entry and seed, "
             f"{race.options.repeats} seeds")
    png = anytime_plot(race.runs, entries, space.maximize, space.metric,
                       race.folder / "anytime.png", title, floors, COURSE)
    lines = verdicts(rows, race.runs, floors, space.maximize, space.metric, COURSE, race.bounds(),
                     race.fitted())
    return RaceReport(rows, lines, floors, csv_path, png)
