"""Evaluate a study's best trial on the held-out test split.

The model the sweep kept for the best trial (best.keras) is scored as it is.
When the kept model is another trial's (or none was kept), the best trial is
retrained from scratch with the study's configuration (space, seed, subset and
the trial's epoch budget): the trainer seeds each execution from the sweep seed
and the params, so the retrained model is the trial's own model up to
non-determinism. The model is scored on the test split, which no trial ever saw.
The result is stored with the study (user attribute ``evaluation``) and in
``results/<study>/evaluation.json``.
"""

from __future__ import annotations

import contextlib
import errno
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tuneyard.analysis.leaderboard import study_objectives
from tuneyard.analysis.pareto import front_numbers
from tuneyard.atomic import write_json
from tuneyard.engine.training import Trainer
from tuneyard.errors import StoreError
from tuneyard.records.attributes import RESULT_ATTR
from tuneyard.records.trial import COMPLETE, Proposal, first_value
from tuneyard.space.data import load_space_data
from tuneyard.space.file import space_of_study
from tuneyard.store.best_model import saved_best
from tuneyard.store.optuna_store import Store, maximizes
from tuneyard.store.paths import study_dir
from tuneyard.workloads.pipelines import with_test_arrays

EVALUATION_ATTR = "evaluation"


def best_trial(store: Store) -> Any:
    """The best completed trial of a loaded study; StoreError when there is none. In a study
    of several objectives: the member of the Pareto front best on the first objective (the
    leaderboard's rank 1)."""
    done = [t for t in store.trials(("COMPLETE",)) if t.values
            and all(np.isfinite(v) for v in t.values)]
    if not done:
        raise StoreError(f"study '{store.name}' has no completed trial yet; "
                         "run or resume it with `tune run` first")
    objectives = study_objectives(store.config)
    if objectives:
        fronts = front_numbers([t.values for t in done], [up for _, up in objectives])
        done = [t for t, front in zip(done, fronts, strict=True) if front == 1]
    maximize = maximizes(store.config)
    return (max if maximize else min)(done, key=lambda t: (t.values[0], -t.number))


def load_evaluation(store: Store) -> dict | None:
    """The stored evaluation of a loaded study, if any."""
    return store.study.user_attrs.get(EVALUATION_ATTR)


def evaluate_study(study: str, storage: str | None = None, data_dir: str | None = None,
                   say: Any = None) -> dict:
    """Score the best trial's model on the test split; store and return the result.

    The model the sweep kept (best.keras, the weights of the epoch that gave the
    trial's value) is scored when it is the best trial's; otherwise the trial is
    retrained and its best epoch's weights are scored. `say(line)` hears each stage.
    """
    say = say or (lambda line: None)
    store = Store(storage, study, existing=True)  # a read command: makes no store
    store.load()
    trial = best_trial(store)
    # A full disk (the store, the scratch model, evaluation.json) is one line, not a traceback.
    with store.guard(), _disk_full_is_one_line():
        return _evaluate(store, study, trial, data_dir, say)


@contextlib.contextmanager
def _disk_full_is_one_line() -> Any:
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = exc.filename or "its files"
        raise StoreError(f"tune evaluate could not write {where}: the disk is full "
                         f"({exc.strerror}); free some space, then run it again") from None


def _evaluate(store: Store, study: str, trial: Any, data_dir: str | None, say: Any) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        made = trial_model(store, trial, data_dir, str(Path(tmp) / "model.keras"), say=say)
        made.dataset = with_test_arrays(made.dataset, f"workload {made.workload.name or study}")
        say(f"scoring trial {trial.number} on the test split ({len(made.dataset.y_test)} samples) ...")
        predictions = _predict(made.path, made.dataset.x_test)
    scores = score(made.workload.task, made.dataset, predictions)
    evaluation = {
        "study": study, "trial": trial.number, "params": dict(trial.params),
        "epochs": made.epochs, "metric": store.config.get("metric"), "trial_value": first_value(trial),
        "retrained_value": made.value, "model": made.source,
        "seconds": round(time.perf_counter() - started, 2),
        "test_samples": int(len(made.dataset.y_test)), **scores,
    }
    save_evaluation(store, evaluation)
    return evaluation


@dataclass
class TrialModel:
    """A trial's model file and where it came from: the sweep's kept model, or retrained."""

    path: str
    source: str  # "saved" or "retrained"
    value: float | None
    epochs: int
    workload: Any = None
    dataset: Any = None


def trial_model(store: Store, trial: Any, data_dir: str | None, scratch: str,
                need_data: bool = True, say: Any = None) -> TrialModel:
    """The model of `trial`: the study's best.keras if it is that trial's, else retrained to
    `scratch` (with the study's seed, data split and the trial's epochs)."""
    config = store.config
    seed = int(config.get("seed") or 0)
    epochs = int((trial.user_attrs.get(RESULT_ATTR) or {}).get("epochs") or config["epochs"])
    kept = saved_best(study_dir(store.name))
    if kept and kept["trial"] == trial.number and not need_data:
        return TrialModel(kept["path"], "saved", first_value(trial), epochs)
    space = space_of_study(config)
    say = say or (lambda line: None)
    say(f"loading the data of {space.workload} ...")
    workload, dataset = load_space_data(space, data_dir=data_dir or config.get("data_dir"),
                                        subset=config.get("subset"), seed=seed)
    if kept and kept["trial"] == trial.number:
        say(f"loading the model the sweep kept for trial {trial.number}")
        return TrialModel(kept["path"], "saved", first_value(trial), epochs, workload, dataset)
    say(f"retraining trial {trial.number} ({epochs} epochs, the study's seed) ...")
    trainer = Trainer(space, workload, dataset, seed=seed)
    result = trainer.run(Proposal(params=dict(trial.params), epochs=epochs, save_best_to=scratch))
    if result.status != COMPLETE or not Path(scratch).exists():
        raise StoreError(f"retraining trial {trial.number} of '{store.name}' failed: "
                         f"{result.error or result.warning or result.status}")
    return TrialModel(scratch, "retrained", result.value, epochs, workload, dataset)


def _predict(path: str, x: np.ndarray) -> np.ndarray:
    # heavy: keras
    import keras

    keras.backend.clear_session()
    model = keras.models.load_model(path)
    out = np.asarray(model.predict(x, verbose=0, batch_size=256))
    keras.backend.clear_session()
    return out


def score(task: str, dataset: Any, predictions: np.ndarray) -> dict:
    """Test scores: classification (accuracy, per class, confusion; ROC for two classes)
    or regression (MSE).

    A classifier's predictions are class probabilities, one column per class (softmax),
    or one column (or a flat vector) of positive-class probabilities from a sigmoid,
    read as class 1 when >= 0.5.
    """
    if task == "classification":
        probs = np.asarray(predictions, dtype=float)
        if probs.ndim == 1:
            probs = probs.reshape(-1, 1)
        sigmoid = probs.shape[1] == 1
        k = 2 if sigmoid else probs.shape[1]
        names = list(dataset.info.get("class_names") or range(k))
        y_pred = (probs[:, 0] >= 0.5).astype(int) if sigmoid else probs.argmax(axis=1)
        positive = probs[:, 0] if sigmoid else probs[:, 1] if k == 2 else None
        return classification_scores(dataset.y_test, y_pred, [str(n) for n in names],
                                     positive_scores=positive)
    y_pred = predictions.reshape(-1).astype(float)
    y_true = np.asarray(dataset.y_test, dtype=float).reshape(-1)
    out = {"task": "regression", "mse": float(np.mean((y_pred - y_true) ** 2)),
           "y_true": _rounded(y_true), "y_pred": _rounded(y_pred)}
    clean = dataset.info.get("clean_test")
    if clean is not None:
        clean = np.asarray(clean, dtype=float).reshape(-1)
        out["noise_floor"] = float(dataset.info.get("noise_floor_test", np.nan))
        out["mse_vs_clean"] = float(np.mean((y_pred - clean) ** 2))
        out["clean"] = _rounded(clean)
    return out


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, names: list[str],
                          positive_scores: np.ndarray | None = None) -> dict:
    """Accuracy, per-class precision and recall, and the confusion matrix (rows: true).

    For two classes, `positive_scores` (the predicted probability of class 1) adds the
    ROC AUC (`roc_auc`) and the ROC curve (`roc`: fpr and tpr, at most ROC_POINTS points)
    when the test labels hold both classes.
    """
    # heavy: sklearn
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(names)))
    y_true = np.asarray(y_true).reshape(-1).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    # zero_division=0: a class never predicted (or absent from the test set) scores 0, not a warning.
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    per_class = [{"class": names[i], "support": int(support[i]), "precision": float(precision[i]),
                  "recall": float(recall[i])} for i in labels]
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    out = {"task": "classification", "accuracy": float(accuracy_score(y_true, y_pred)),
           "class_names": names, "per_class": per_class, "confusion_matrix": matrix.tolist()}
    if len(names) == 2 and positive_scores is not None:
        out.update(roc_scores(y_true, positive_scores))
    return out


ROC_POINTS = 200


def roc_scores(y_true: np.ndarray, positive_scores: np.ndarray) -> dict:
    """ROC AUC and the curve (rounded, at most ROC_POINTS points, both ends kept) of a
    binary classifier; nothing when the labels hold only one class (AUC is undefined)."""
    # heavy: sklearn
    from sklearn.metrics import roc_auc_score, roc_curve

    y_true = np.asarray(y_true).reshape(-1).astype(int)
    scores = np.asarray(positive_scores, dtype=float).reshape(-1)
    if len(np.unique(y_true)) < 2 or not np.isfinite(scores).all():
        return {}
    fpr, tpr, _ = roc_curve(y_true, scores)
    if len(fpr) > ROC_POINTS:
        keep = np.unique(np.linspace(0, len(fpr) - 1, ROC_POINTS).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"roc_auc": float(roc_auc_score(y_true, scores)),
            "roc": {"fpr": [round(float(v), 4) for v in fpr],
                    "tpr": [round(float(v), 4) for v in tpr]}}


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def save_evaluation(store: Store, evaluation: dict) -> Path:
    """Store the evaluation with the study and as results/<study>/evaluation.json."""
    store.study.set_user_attr(EVALUATION_ATTR, evaluation)
    path = study_dir(store.name) / "evaluation.json"
    write_json(path, evaluation, indent=1)
    return path


def summary_lines(evaluation: dict) -> list[str]:
    """A few human lines about an evaluation, for the CLI and the report."""
    if evaluation.get("model") == "saved":
        head = (f"trial {evaluation['trial']}: the model the sweep kept (its best epoch, "
                f"{evaluation['metric']} {evaluation['trial_value']:.4g}), "
                f"tested on {evaluation['test_samples']} held-out samples")
    else:
        head = (f"trial {evaluation['trial']} retrained for {evaluation['epochs']} epochs "
                f"({evaluation['metric']} {evaluation['retrained_value']:.4g} at its best epoch; "
                f"in the sweep {evaluation['trial_value']:.4g}), "
                f"tested on {evaluation['test_samples']} held-out samples")
    if evaluation["task"] == "classification":
        lines = [head, f"test accuracy: {evaluation['accuracy']:.4f}"]
        if evaluation.get("roc_auc") is not None:
            lines.append(f"test ROC AUC: {evaluation['roc_auc']:.4f}")
        return lines
    lines = [head, f"test MSE: {evaluation['mse']:.5g}"]
    if "noise_floor" in evaluation:
        lines.append(f"noise floor (MSE of the noise-free wave): {evaluation['noise_floor']:.5g}; "
                     f"MSE against the noise-free wave: {evaluation['mse_vs_clean']:.5g}")
    return lines
