"""Every view of a study tells the same truth (issue 12, items 1-3).

- One diagnosis per trial, judged once on the objective's own curves, read back alike by
  the store, the leaderboard, the CSV, `tune diagnose` and the HTML report.
- The store reads well in plain Optuna for every backend: metric names, one intermediate
  value per epoch, flat user attributes.
- One CSV schema: the same fixed columns in the same order for every backend, then `x_`
  backend details.

Real sweeps (tests/cheap.py's trainer, no TensorFlow) into real SQLite files.
"""

import csv
import datetime
import html
import re

import optuna
import pytest
from cheap import SPACE, CheapTrainer
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

import tuneyard.cli.study  # noqa: F401  (registers `tune diagnose` on the app)
from tuneyard.analysis.diagnosis import LABELS, diagnose
from tuneyard.analysis.leaderboard import ranked, trial_row
from tuneyard.analysis.reading import study_frame
from tuneyard.analysis.trial_diagnosis import diagnose_trial, trial_diagnosis
from tuneyard.backends import BACKEND_NAMES
from tuneyard.cli.base import app
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.report.build import build_report

optuna.logging.set_verbosity(optuna.logging.WARNING)
FIXED = ["rank", "trial", "backend", "learning_rate", "optimizer", "layers", "units_2", "val_mse",
         "epochs", "seconds", "status", "diagnosis", "seed", "device", "precision", "started",
         "error"]
PENALTY = 5.0  # a strong L2 term: the loss is mostly penalty, and barely moves
MSE = [0.5, 0.1, 0.03, 0.02, 0.019, 0.019]


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE.replace("epochs: 3,", "epochs: 6,"))
    return str(path)


class SeededTrainer(CheapTrainer):
    """The cheap trainer, with a seed per trial and (on live Optuna trials) the first two
    epochs already reported, as the pruning callback would have."""

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        result.seeds = [1000 + len(self.calls)]
        if proposal.trial is not None:
            for i, value in enumerate(result.history.get("val_mse", [])[:2]):
                proposal.trial.report(value, proposal.initial_epoch + i)
        return result


class StrongL2Trainer(CheapTrainer):
    """Curves where the objective settles healthily while the loss (penalty included) stays
    flat: judged on the loss this would be underfitting."""

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        val = [v * 1.05 for v in MSE]
        result.history = {"mse": MSE, "val_mse": val, "loss": [v + PENALTY for v in MSE],
                          "val_loss": [v + PENALTY for v in val]}
        result.value, result.metrics, result.epochs_run = min(val), {"val_mse": min(val)}, 6
        return result


def run_sweep(space_path, backend, trainer, trials=6, study=None):
    runner = Sweep(SweepOptions(space=space_path, backend=backend, trials=trials, study=study),
                   trainer=trainer)
    return runner, runner.run().leaderboard


def read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_the_strong_l2_case_really_disagrees():
    loss_view = diagnose({"loss": [v + PENALTY for v in MSE],
                          "val_loss": [v * 1.05 + PENALTY for v in MSE]})
    objective_view = diagnose({"loss": MSE, "val_loss": [v * 1.05 for v in MSE]})
    assert (loss_view.label, objective_view.label) == ("underfitting", "healthy")


@pytest.mark.slow
def test_one_diagnosis_in_every_view_judged_on_the_objective(space_path, results_in_tmp):
    runner, frame = run_sweep(space_path, "tpe", StrongL2Trainer(), trials=3, study="l2")
    url = runner.store.url
    trials = optuna.load_study(study_name="l2", storage=url).get_trials()
    assert [t.user_attrs["diagnosis"] for t in trials] == ["healthy"] * 3
    assert "validation mse settled" in trials[0].user_attrs["result"]["diagnosis"]["reason"]
    assert list(frame["diagnosis"]) == ["healthy"] * 3
    assert list(study_frame("l2", url)["diagnosis"]) == ["healthy"] * 3
    _, rows = read_csv(results_in_tmp / "l2" / "leaderboard.csv")
    assert [r["diagnosis"] for r in rows] == ["healthy"] * 3
    out = CliRunner().invoke(app, ["diagnose", "l2", "1", "--storage", url])
    assert out.exit_code == 0, out.output
    assert "trial 1 (complete): healthy" in out.output and "underfitting" not in out.output
    page = build_report("l2", url).index.read_text()
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", page)]
    assert cells.count("healthy") == 6  # 3 in the leaderboard table, 3 in the diagnosis table
    assert "underfitting" not in page


def sine_trial(store_url, history, value):
    """A sine study as stored before diagnoses were kept: no `diagnosis` attribute."""
    config = {"space": "sine_lstm", "backend": "tpe", "seed": 0, "metric": "val_mse",
              "direction": "minimize", "epochs": 6, "subset": None, "workload": "sine_lstm"}
    study = optuna.create_study(storage=store_url, study_name="old", direction="minimize")
    study.set_user_attr("tuneyard", config)
    study.add_trial(create_trial(
        value=value, params={"learning_rate": 1e-3, "units": 32},
        distributions={"learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
                       "units": IntDistribution(32, 128, step=32)},
        user_attrs={"backend": "tpe", "history": history,
                    "result": {"epochs": 6, "initial_epoch": 0, "epochs_run": 6,
                               "metrics": {"val_mse": value}, "seconds": 1.0}}))
    return study, config


def test_old_trial_at_the_noise_floor_is_judged_alike_in_every_view(tmp_path):
    """The issue's case: val_mse 0.0094 at the noise floor, val_loss 1.09 with the L2 term."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    mse = [0.3, 0.05, 0.012, 0.0097, 0.0095, 0.0094]
    history = {"mse": [v * 0.98 for v in mse], "val_mse": mse,
               "loss": [v + 1.08 for v in mse], "val_loss": [v + 1.08 for v in mse]}
    study, config = sine_trial(url, history, 0.0094)
    trial = study.get_trials()[0]
    assert "diagnosis" not in trial.user_attrs
    d = trial_diagnosis(trial.user_attrs, config)
    assert d.label == "healthy" and d.numbers["val_to_baseline"] < 0.05
    assert trial_row(trial, config)["diagnosis"] == "healthy"
    assert list(study_frame("old", url)["diagnosis"]) == ["healthy"]
    out = CliRunner().invoke(app, ["diagnose", "old", "0", "--storage", url])
    assert "trial 0 (complete): healthy" in out.output, out.output
    assert "% of trivial baseline 0.5" in out.output


def test_a_maximised_objective_is_judged_by_its_error():
    config = {"metric": "val_accuracy", "direction": "maximize", "workload": "mnist_mlp"}
    acc = [0.80, 0.90, 0.95, 0.96, 0.965, 0.965]
    attrs = {"history": {"accuracy": acc, "val_accuracy": [a - 0.01 for a in acc],
                         "loss": [3.0] * 6, "val_loss": [3.0] * 6},
             "result": {"epochs": 6, "initial_epoch": 0}}
    d = diagnose_trial(attrs, config)
    assert d.label == "healthy", d.reason
    assert d.numbers["baseline_loss"] == pytest.approx(0.9)  # a guess among 10 classes
    assert "validation error" in d.reason


# random measured over a second (it loads Keras Tuner and TensorFlow first in this file).
@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=pytest.mark.slow) if b == "random" else b for b in BACKEND_NAMES]
)
def test_plain_optuna_reads_every_backend(space_path, backend):
    runner, _ = run_sweep(space_path, backend, SeededTrainer(), study=f"plain-{backend}")
    study = optuna.load_study(study_name=f"plain-{backend}", storage=runner.store.url)
    assert study.metric_names == ["val_mse"]
    trials = study.get_trials()
    assert len(trials) == 6
    for t in trials:
        attrs, result = t.user_attrs, t.user_attrs["result"]
        assert attrs["backend"] == backend
        assert attrs["epochs"] == result["epochs_run"] == len(attrs["history"]["val_mse"]) > 0
        assert attrs["seconds"] == result["seconds"] and attrs["seed"] == result["seeds"][0] >= 1001
        assert attrs["diagnosis"] in (*LABELS, "unknown")  # unknown: a 1-epoch Hyperband trial
        assert attrs["diagnosis"] == diagnose_trial(attrs, runner.store.config).label
        first = result["initial_epoch"]
        assert t.intermediate_values == {first + i: v
                                         for i, v in enumerate(attrs["history"]["val_mse"])}
        assert t.datetime_start <= t.datetime_complete
    frame = study.trials_dataframe()
    for column in ("epochs", "seconds", "seed", "backend", "diagnosis"):
        assert frame[f"user_attrs_{column}"].notna().all(), column


@pytest.mark.slow
def test_one_csv_schema_for_every_backend(space_path, results_in_tmp):
    headers = {}
    for backend in BACKEND_NAMES:
        run_sweep(space_path, backend, SeededTrainer(), study=f"csv-{backend}")
        header, rows = read_csv(results_in_tmp / f"csv-{backend}" / "leaderboard.csv")
        headers[backend] = header
        assert header[:len(FIXED)] == FIXED, backend
        assert all(c.startswith("x_") for c in header[len(FIXED):]), header
        for row in rows:
            datetime.datetime.fromisoformat(row["started"])
            assert row["seed"] and row["diagnosis"] in (*LABELS, "unknown")
    assert "x_grid_index" in headers["grid"] and "x_kt_trial" in headers["random"]
    assert {"x_kt_trial", "x_bracket", "x_round", "x_hb_epochs", "x_parent"} <= set(
        headers["hyperband"])
    assert headers["tpe"] == FIXED


def test_a_hyperparameter_named_like_a_column_is_prefixed(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'x.db'}", study_name="x")
    for epochs in (2, 4):
        study.add_trial(create_trial(
            value=1.0 / epochs, params={"epochs": epochs, "x_y": 1},
            distributions={"epochs": IntDistribution(1, 9), "x_y": IntDistribution(0, 1)},
            user_attrs={"result": {"epochs_run": 7, "metrics": {"val_mse": 1.0 / epochs}}},
            state=TrialState.COMPLETE))
    rows = [trial_row(t) for t in study.get_trials()]
    columns, records = ranked(rows, ["epochs", "x_y"], "val_mse", maximize=False)
    assert columns.count("epochs") == 1 and "hp_epochs" in columns and "hp_x_y" in columns
    assert [(r["hp_epochs"], r["epochs"]) for r in records] == [(4, 7), (2, 7)]
