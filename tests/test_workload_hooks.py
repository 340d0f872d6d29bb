"""What the diagnosis knows of a workload comes through the Workload contract's optional
hooks: a user's workload gets the same judgement as a shipped one, and one without hooks
(or with a hook that fails) is judged on its curves alone."""

from tuneyard import Dataset, Workload
from tuneyard.analysis.trial_diagnosis import diagnose_trial, judge_of
from tuneyard.workloads.base import Bound
from tuneyard.workloads.registry import register_in_process

FLAT = {"mse": [0.9, 0.89, 0.88], "val_mse": [0.9, 0.89, 0.885]}
NEAR = {"mse": [0.9, 0.6, 0.52], "val_mse": [0.9, 0.6, 0.503]}


class Plain(Workload):
    task = "regression"

    def load(self, **kwargs) -> Dataset:
        raise NotImplementedError

    def build_model(self, params, dataset, options):
        raise NotImplementedError


class Hooked(Plain):
    def trivial_baselines(self, setup):
        return {"mse": 1.0 + setup.seed}

    def best_possible(self, setup, params):
        return None if params is None else Bound(0.5, int(params["inputs"]), longest=False)


class Broken(Plain):
    def trivial_baselines(self, setup):
        raise ValueError("a bug in the user's hook")


def config(name: str, workload: Workload) -> dict:
    register_in_process(f"python:{name}", workload)
    return {"workload": f"python:{name}", "metric": "val_mse", "direction": "minimize", "seed": 0}


def attrs(history: dict) -> dict:
    return {"history": history, "result": {"epochs": 3, "initial_epoch": 0}}


def test_a_users_baseline_hook_is_the_diagnosis_baseline():
    d = diagnose_trial(attrs(FLAT), config("hooked", Hooked()))
    assert d.label == "underfitting" and d.numbers["baseline_loss"] == 1.0
    assert "trivial baseline 1" in d.reason


def test_a_users_bound_hook_is_set_beside_the_trial():
    d = diagnose_trial(attrs(NEAR), config("hooked", Hooked()), {"inputs": 7})
    assert d.numbers["linear_bound"] == 0.5 and d.numbers["window"] == 7
    assert "within 1% of" in d.reason
    # Without the trial's params the hook knows no bound: no note.
    assert "linear_bound" not in diagnose_trial(attrs(NEAR), config("hooked", Hooked())).numbers


def test_no_hooks_or_a_failing_hook_judge_the_curves_alone():
    for name, workload in (("plain", Plain()), ("broken", Broken())):
        d = diagnose_trial(attrs(FLAT), config(name, workload))
        assert "baseline_loss" not in d.numbers, name
        assert d.label == "underfitting" and "fell only" in d.reason  # the rule's second form
    assert judge_of(config("broken", Broken())).baselines == {}


def test_a_workload_that_cannot_be_found_is_judged_on_its_curves():
    d = diagnose_trial(attrs(FLAT), {"workload": "python:gone", "metric": "val_mse",
                                     "direction": "minimize"})
    assert d.label == "underfitting" and "baseline_loss" not in d.numbers
