"""`tune report`: PNG figures and a self-contained index.html for one study.

The report is drawn in a temporary folder beside its destination and moved
into results/<study>/report/ only once complete, so a failure never leaves a
half-made report (nor removes the previous one).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tuneyard.errors import StoreError, TuneyardError
from tuneyard.store.optuna_store import Store, maximizes
from tuneyard.store.paths import study_dir

REPORT_DIR = "report"


@dataclass
class Report:
    """Where a report was written, which figures it has and what was skipped."""

    folder: Path
    figures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        """The report's index.html."""
        return self.folder / "index.html"


def build_report(study: str, storage: str | None = None, *, top: int = 5,
                 evaluate: bool = False, data_dir: str | None = None) -> Report:
    """Write results/<study>/report/ (figures + index.html); returns what was written."""
    if top < 1:
        raise TuneyardError(f"--top must be at least 1, got {top}")
    # --evaluate stores its scores; neither way makes a store
    store = Store(storage, study, readonly=not evaluate, existing=True)
    store.load()
    trials = store.trials()
    if not any(t.state.name == "COMPLETE" for t in trials):
        raise StoreError(f"study '{study}' has no completed trial yet ({len(trials)} trials in "
                         "all); nothing to report, and nothing was written")
    if evaluate:
        # heavy: numpy
        from tuneyard.evaluation.evaluate import evaluate_study

        evaluate_study(study, storage, data_dir)
        store.load()
    target = study_dir(study) / REPORT_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".report-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a report is meant to be shared
    try:
        report = _draw(store, trials, tmp, top)
        _replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report.folder = target
    return report


def _draw(store: Store, trials: list, folder: Path, top: int) -> Report:
    # heavy: matplotlib, numpy
    from tuneyard.analysis.leaderboard import study_objectives, to_frame, trial_row
    from tuneyard.analysis.reading import param_order
    from tuneyard.analysis.trial_diagnosis import diagnose_rows
    from tuneyard.evaluation.evaluate import load_evaluation, summary_lines
    from tuneyard.report import figures as rf
    from tuneyard.report import figures_eval as re
    from tuneyard.report.html import render
    from tuneyard.report.pareto_figure import pareto_figure

    config = store.config
    metric = config.get("metric", "value")
    maximize = maximizes(config)
    rows = [trial_row(t, config) for t in trials]
    objectives = study_objectives(config)
    frame = to_frame(rows, param_order(store, rows), metric, maximize, objectives)
    report = Report(folder)
    figures: list[tuple[Path, str, str]] = []

    def add(name: str, fig, title: str, caption: str, skipped: str) -> None:
        if fig is None:
            report.notes.append(skipped)
            return
        path = folder / f"{name}.png"
        rf.save(fig, path)
        figures.append((path, title, caption))
        report.figures.append(path.name)

    if objectives:
        add("pareto", pareto_figure(trials, objectives), "Pareto front",
            f"Each completed trial's {objectives[0][0]} against its {objectives[1][0]}; the "
            f"highlighted points (labelled with their trial numbers) are the Pareto front: no "
            f"trial is as good on every objective ({', '.join(n for n, _ in objectives)}) and "
            "better on one. `tune export STUDY --trial N` writes any one's model.",
            "Pareto front skipped: fewer than 2 completed trials")
    drawn = curves_words(len(rf.curve_trials(trials, maximize, top)),
                         len(rf.curve_trials(trials, maximize, len(trials))))
    add("curves", rf.curves_figure(trials, metric, maximize, top), "Training curves",
        f"Loss and metric per epoch of {drawn}: solid training, "
        "dashed validation. A dashed curve rising while its solid one falls is overfitting.",
        "training curves skipped: no completed trial has a stored history")
    add("history", rf.history_figure(trials, metric, maximize), "Search history",
        "Left: every completed trial's objective and the best so far. Right: the best so far "
        "against the training epochs spent, so budgets of different backends compare.",
        "search history skipped: no completed trial")
    scores, notes = re.importances(store.study, trials)
    report.notes.extend(notes)
    add("importance", re.importance_figure(scores, metric), "Parameter importance",
        "Share of the objective's variance explained by each hyperparameter, from Optuna's "
        "fANOVA and PED-ANOVA evaluators on the stored trials.",
        "parameter importance figure skipped (see the note above)")
    add("params", rf.params_figure(trials, metric, maximize), "Objective per hyperparameter",
        "Each completed trial's objective against each hyperparameter; the star is the best.",
        "objective per hyperparameter skipped: no completed trial has parameters")
    evaluation = load_evaluation(store)
    best = rf.ranked(trials, maximize)[0]
    if evaluation and evaluation.get("trial") != best.number:
        report.notes.append(f"the test-set evaluation is of trial {evaluation.get('trial')}, but "
                            f"the best is now trial {best.number}: run `tune evaluate` again")
    fig, why = re.evaluation_figure(evaluation)
    test_title = ("Test confusion matrix" if (evaluation or {}).get("task") == "classification"
                  else "Test predictions")
    add("test", fig, test_title, evaluation_caption(evaluation), why)
    lines = summary_lines(evaluation) if evaluation else []
    page = render(store.name, config, frame, figures, report.notes,
                  diagnose_rows(trials, config), evaluation, lines)
    (folder / "index.html").write_text(page, encoding="utf-8")
    return report


def curves_words(drawn: int, with_history: int) -> str:
    """Which trials the curves figure draws, in words: `drawn` of the `with_history`
    completed trials that have curves, their real count."""
    if drawn == 1:
        return "the best trial" if with_history > 1 else "the one completed trial"
    return f"the best {drawn} trials" if with_history > drawn else f"all {drawn} completed trials"


def evaluation_caption(evaluation: dict | None) -> str:
    """What the test figure shows: the kept model scored, or the trial retrained first."""
    if (evaluation or {}).get("model") == "saved":
        return ("The best trial's model as the sweep kept it (its best epoch), scored on the "
                "held-out test split that no trial saw.")
    return ("The best trial, retrained (its model was not kept) and scored on the held-out "
            "test split that no trial saw.")


def _replace(tmp: Path, target: Path) -> None:
    """Swap the finished folder into place; the old report goes only once the new one is there."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=".report-old-", dir=target.parent))
        os.replace(target, old / REPORT_DIR)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
