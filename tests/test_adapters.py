"""The adapters: every private Optuna and Keras Tuner name tuneyard uses, each pinned.

Each test pins what tuneyard relies on from one private name, so an upgrade of either
library that changes it fails here, saying which, instead of somewhere in a sweep.
A last test checks that no other module of tuneyard uses such a name, nor TensorFlow's one
(its gradient registry: engine/gradient_registry.py, pinned by test_gradient_registry.py,
which trains). Fast: no training.
"""

import ast
import json
import time
from pathlib import Path

import pytest

from tuneyard.backends import kt_adapter, kt_oracle
from tuneyard.backends.hyperband import round_size, schedule
from tuneyard.store import optuna_adapter

SRC = Path(__file__).resolve().parents[1] / "src" / "tuneyard"
ADAPTERS = {SRC / "store" / "optuna_adapter.py", SRC / "backends" / "kt_adapter.py",
            SRC / "engine" / "gradient_registry.py"}  # TensorFlow's (test_gradient_registry.py)


# ---------------------------------------------------------------- Optuna

@pytest.fixture
def optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def rdb_study(optuna, tmp_path, **storage_kwargs):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'pin.db'}", **storage_kwargs)
    return optuna.create_study(storage=storage, study_name="pin")


def test_storage_and_ids_of_a_study_and_its_trials(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    assert isinstance(storage, optuna.storages.BaseStorage), "Study._storage is not a storage"
    study_id = optuna_adapter.study_id_of(study)
    assert storage.get_study_id_from_name("pin") == study_id, "Study._study_id is not its id"
    live = study.ask()
    study.tell(live, 1.0)
    frozen = study.trials[0]
    by_number = storage.get_trial_id_from_study_id_trial_number(study_id, 0)
    assert optuna_adapter.trial_id_of(live) == by_number, "Trial._trial_id is not its id"
    assert optuna_adapter.trial_id_of(frozen) == by_number, "FrozenTrial._trial_id is not its id"


def test_the_steps_a_live_trial_reported(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    trial = study.ask()
    assert optuna_adapter.reported_steps(trial) == {}
    trial.report(0.5, 0)
    trial.report(0.25, 1)
    # If Trial._cached_frozen_trial stops following report(), every epoch is written twice.
    assert optuna_adapter.reported_steps(trial) == {0: 0.5, 1: 0.25}


def test_a_live_trial_as_stored_without_reading_it(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.suggest_categorical("opt", ["adam", "sgd"])
    trial.set_user_attr("runner", "me")
    trial.report(0.5, 0)
    copied = optuna_adapter.frozen_of(trial)
    # If Trial._cached_frozen_trial stops following suggest/set_user_attr/report, the ledger
    # shows a started trial without its params or its runner.
    assert copied == storage.get_trial(optuna_adapter.trial_id_of(trial))
    copied.user_attrs["runner"] = "changed"  # a copy: the live trial is not touched
    assert trial.user_attrs["runner"] == "me"


def test_finish_trial_writes_a_trial_whole_in_one_transaction(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    states = optuna.trial.TrialState
    cases = ((states.COMPLETE, 0.25), (states.FAIL, None), (states.PRUNED, 0.2))
    told = []
    for state, value in cases:
        trial = study.ask()
        trial.set_user_attr("runner", "me")
        trial.report(0.05, 0)  # a step reported while it trained, kept beside the written ones
        running = storage.get_trial(optuna_adapter.trial_id_of(trial))
        told.append(optuna_adapter.finish_trial(storage, running, {"a": 1, "b": {"x": (1.5,)}},
                                                {1: 0.1, 3: 0.2}, state, value))
    # Read back through the public API, as Study.tell would have left each one.
    for stored, returned, (state, value) in zip(study.get_trials(), told, cases, strict=True):
        assert (stored.state, stored.value) == (state, value)
        assert stored.user_attrs == {"runner": "me", "a": 1, "b": {"x": [1.5]}}
        assert stored.intermediate_values == {0: 0.05, 1: 0.1, 3: 0.2}
        assert stored.datetime_complete is not None
        # What it returns, without reading it back, is what a read gives (the tuple a list).
        assert returned == stored
    # The last write (the value) cannot be stored: with one transaction nothing before it is.
    # On the public fallback (Optuna moved `*_without_commit`) "c" and step 5 stay committed.
    trial_id = optuna_adapter.trial_id_of(study.ask())
    with pytest.raises(optuna.exceptions.StorageInternalError):  # its commit is refused
        optuna_adapter.finish_trial(storage, storage.get_trial(trial_id), {"c": 2}, {5: 0.5},
                                    states.COMPLETE, object())
    left = storage.get_trial(trial_id)
    assert (left.state, left.user_attrs, left.intermediate_values) == (states.RUNNING, {}, {}), (
        "finish_trial no longer writes in one transaction: optuna.storages._rdb changed")


def test_finish_trial_refuses_a_trial_another_worker_finished(optuna, tmp_path):
    # The store's tell relies on this error to leave a trial another worker failed alone.
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    trial = study.ask()
    running = storage.get_trial(optuna_adapter.trial_id_of(trial))
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        optuna_adapter.finish_trial(storage, running, {"a": 1}, {0: 0.1},
                                    optuna.trial.TrialState.COMPLETE, 0.5)
    stored = study.trials[0]
    assert (stored.state.name, stored.user_attrs, stored.intermediate_values) == ("FAIL", {}, {})


def test_finish_trial_elsewhere_takes_the_public_calls(optuna):
    study = optuna.create_study()  # in memory: no RDB storage under it
    trial = study.ask()
    storage = optuna_adapter.storage_of(study)
    returned = optuna_adapter.finish_trial(storage, storage.get_trial(optuna_adapter.trial_id_of(trial)),
                                           {"a": 1}, {2: 0.5}, optuna.trial.TrialState.COMPLETE, 0.5)
    stored = study.trials[0]
    assert (stored.state.name, stored.value, stored.user_attrs) == ("COMPLETE", 0.5, {"a": 1})
    assert stored.intermediate_values == {2: 0.5}
    assert returned == stored


def test_finish_trial_replaces_an_attribute_and_a_step_already_there(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    trial = study.ask()
    trial.set_user_attr("runner", "old")
    trial.report(0.5, 1)
    returned = optuna_adapter.finish_trial(
        storage, storage.get_trial(optuna_adapter.trial_id_of(trial)), {"runner": "new", "b": 2},
        {1: float("inf"), 2: float("nan")}, optuna.trial.TrialState.COMPLETE, float("inf"))
    stored = study.trials[0]
    assert stored.user_attrs == returned.user_attrs == {"runner": "new", "b": 2}
    assert stored.intermediate_values[1] == returned.intermediate_values[1] == float("inf")
    assert stored.intermediate_values[2] != stored.intermediate_values[2]  # NaN, stored as Optuna does
    assert returned.intermediate_values[2] != returned.intermediate_values[2]
    assert stored.value == returned.value == float("inf")


def _space_distributions(optuna):
    dists = optuna.distributions
    return {"lr": dists.FloatDistribution(1e-4, 1e-1, log=True),
            "units": dists.IntDistribution(16, 256, step=16),
            "opt": dists.CategoricalDistribution(["adam", "sgd"])}


def test_create_running_trial_writes_what_optunas_template_trial_writes(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    study_id = optuna_adapter.study_id_of(study)
    distributions = _space_distributions(optuna)
    params = {"lr": 0.01, "units": 64, "opt": "sgd"}
    template = optuna.trial.FrozenTrial(
        number=-1, state=optuna.trial.TrialState.RUNNING, value=None, values=None,
        datetime_start=None, datetime_complete=None, params=params, distributions=distributions,
        user_attrs={"runner": "a"}, system_attrs={}, intermediate_values={}, trial_id=-1)
    by_optuna = storage.create_new_trial(study_id, template_trial=template)
    study.ask()  # an Optuna-native trial between them: numbers follow the trials before
    ours = optuna_adapter.create_running_trial(storage, study_id, params, distributions, {"runner": "a"})
    theirs, mine = storage.get_trial(by_optuna), storage.get_trial(ours)
    assert (mine.number, theirs.number) == (2, 0)
    for field in ("state", "params", "distributions", "user_attrs", "system_attrs",
                  "intermediate_values"):
        assert getattr(mine, field) == getattr(theirs, field), field
    assert mine.datetime_start is not None and mine.datetime_complete is None
    assert [t.number for t in study.get_trials()] == [0, 1, 2]  # the study's cache reads it


def test_create_running_trial_refuses_a_distribution_the_study_stored_otherwise(optuna, tmp_path):
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    study_id = optuna_adapter.study_id_of(study)
    optuna_adapter.create_running_trial(storage, study_id, {"units": 64},
                                        {"units": _space_distributions(optuna)["units"]}, {})
    other = {"units": optuna.distributions.CategoricalDistribution([64, 128])}
    with pytest.raises(ValueError):
        optuna_adapter.create_running_trial(storage, study_id, {"units": 64}, other, {})
    assert len(study.get_trials()) == 1, "a refused trial left a row"


def test_create_running_trial_elsewhere_takes_the_public_call(optuna):
    study = optuna.create_study()  # in memory: no RDB storage under it
    storage = optuna_adapter.storage_of(study)
    trial_id = optuna_adapter.create_running_trial(
        storage, optuna_adapter.study_id_of(study), {"units": 64},
        {"units": _space_distributions(optuna)["units"]}, {"runner": "a"})
    stored = storage.get_trial(trial_id)
    assert (stored.state.name, stored.params, stored.user_attrs) == ("RUNNING", {"units": 64},
                                                                     {"runner": "a"})


def test_heartbeats_on_an_rdb_storage(optuna, tmp_path):
    from optuna.storages._heartbeat import is_heartbeat_enabled  # Optuna's own notion

    callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
    study = rdb_study(optuna, tmp_path, heartbeat_interval=1, grace_period=1,
                      heartbeat_stale_trial_callback=callback)
    storage = optuna_adapter.storage_of(study)
    in_memory = optuna_adapter.storage_of(optuna.create_study())
    plain = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'plain.db'}")
    for each, enabled in ((storage, True), (in_memory, False), (plain, False)):
        assert optuna_adapter.heartbeat_enabled(each) is enabled
        assert is_heartbeat_enabled(each) is enabled, "Optuna changed what enables heartbeats"
    assert storage.get_heartbeat_stale_trial_callback() is callback  # what retry_later calls
    trial = study.ask()
    storage.record_heartbeat(optuna_adapter.trial_id_of(trial))
    # A trial whose worker stops beating is failed after the grace period and queued again.
    deadline = time.monotonic() + 30
    while study.trials[0].state.name == "RUNNING" and time.monotonic() < deadline:
        optuna.storages.fail_stale_trials(study)
        time.sleep(0.2)
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "WAITING"], states
    retry = study.trials[1]
    assert optuna.storages.RetryFailedTrialCallback.retried_trial_number(retry) == 0
    # The system attributes the ledger (retry_history) and the shared grid (failed_trial) read.
    assert retry.system_attrs["failed_trial"] == 0 and retry.system_attrs["retry_history"] == [0]


def test_fixed_params_decide_what_a_trial_suggests(optuna, tmp_path):
    # The shared grid fixes a slot's point in the system attribute Optuna's enqueue_trial uses.
    study = rdb_study(optuna, tmp_path)
    storage = optuna_adapter.storage_of(study)
    trial_id = storage.create_new_trial(optuna_adapter.study_id_of(study))
    storage.set_trial_system_attr(trial_id, "fixed_params", {"x": 0.3, "n": 4})
    trial = optuna.trial.Trial(study, trial_id)
    assert (trial.suggest_float("x", 0.0, 1.0), trial.suggest_int("n", 1, 8)) == (0.3, 4)


@pytest.mark.parametrize("make", ["tpe", "random"])
def test_reseeding_a_sampler_fixes_its_draws(optuna, make):
    def draw(sampler_seed: int, state: int, history: int) -> float:
        sampler = (optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=2)
                   if make == "tpe" else optuna.samplers.RandomSampler(seed=sampler_seed))
        study = optuna.create_study(sampler=sampler)
        dist = optuna.distributions.FloatDistribution(0.0, 1.0)
        for i in range(history):  # past the start-up trials: TPE models them, with its own rng
            study.add_trial(optuna.trial.create_trial(params={"x": i / 10}, distributions={"x": dist},
                                                      value=float(i)))
        trial = study.ask()
        seeded = optuna_adapter.reseed(study.sampler, state)
        assert seeded == (2 if make == "tpe" else 1), (
            f"{type(sampler).__name__}: _rng (and TPE's _random_sampler._rng) not found")
        return trial.suggest_float("x", 0.0, 1.0)

    for history in (0, 5):
        assert draw(1, 7, history) == draw(2, 7, history), "reseeding no longer fixes the draws"
        assert draw(1, 7, history) != draw(1, 8, history), "the seeded state is not used"


# ---------------------------------------------------------------- Keras Tuner

def kt_space(*values):
    import keras_tuner

    hps = keras_tuner.HyperParameters()
    hps.Choice("c", list(values))
    return hps


def new_oracle(kind, folder, hps, **kwargs):
    import keras_tuner

    return kt_oracle.make_oracle(kind, folder, objective=keras_tuner.Objective("score", "min"),
                                 hyperparameters=hps, seed=3, **kwargs)


def test_the_oracle_files_are_written_whole_in_its_folder(tmp_path):
    from keras_tuner.engine.oracle import Oracle

    # AtomicFiles overrides a method Keras Tuner has and calls: not a new, dead one.
    assert "_save_trial" in vars(Oracle) and "save" in vars(Oracle)
    saved = []

    class Recording(kt_adapter.AtomicFiles):
        def _save_trial(self, trial):
            saved.append(trial.trial_id)
            super()._save_trial(trial)

    oracle = new_oracle("random", tmp_path, kt_space("a", "b", "c"))
    oracle.__class__ = type("Recorded", (Recording, type(oracle)), {})
    trial = oracle.create_trial("t")
    kt_oracle.finish(oracle, trial.trial_id, "COMPLETED", 0.5, "score")
    assert trial.trial_id in saved, "Keras Tuner no longer saves a trial through _save_trial"
    folder = tmp_path / kt_oracle.PROJECT  # _set_project_dir: <folder>/<project>
    assert kt_oracle.has_state(tmp_path)
    stored = json.loads((folder / f"trial_{trial.trial_id}" / "trial.json").read_text())
    assert stored["status"] == "COMPLETED" and stored["score"] == 0.5
    again = new_oracle("random", tmp_path, kt_space("a", "b", "c"))
    again.reload()
    assert again.trials[trial.trial_id].status == "COMPLETED"
    assert sorted(p.name for p in folder.rglob("*.tmp*")) == []


def test_a_requeued_trial_runs_again_with_its_values(tmp_path):
    oracle = new_oracle("random", tmp_path, kt_space("a", "b", "c"))
    first = oracle.create_trial("t")
    values = dict(first.hyperparameters.values)
    oracle.save()
    reloaded = new_oracle("random", tmp_path, kt_space("a", "b", "c"))
    reloaded.reload()
    # Keras Tuner queues a trial it had running when it reloads; reconcile relies on it.
    assert kt_adapter.retry_queue(reloaded) == [first.trial_id]
    kt_adapter.unqueue(reloaded, first.trial_id)
    assert kt_adapter.retry_queue(reloaded) == []
    kt_adapter.requeue(reloaded, first.trial_id)
    kt_adapter.requeue(reloaded, first.trial_id)
    assert kt_adapter.retry_queue(reloaded) == [first.trial_id]
    # create_trial hands out a queued trial first, with the same id and values.
    again = reloaded.create_trial("t")
    assert (again.trial_id, dict(again.hyperparameters.values)) == (first.trial_id, values)
    assert again.status == "RUNNING" and kt_adapter.retry_queue(reloaded) == []


def test_an_adopted_trial_is_never_proposed_again(tmp_path):
    oracle = new_oracle("random", tmp_path, kt_space("a", "b"))
    row = {"params": {"c": "a"}, "status": "COMPLETE", "value": 0.3}
    assert kt_oracle.adopt(oracle, [row], "score") == 1  # _record_values, the public Trial
    trial = oracle.create_trial("t")
    assert trial.hyperparameters.values == {"c": "b"}, "an adopted point was proposed again"
    kt_oracle.finish(oracle, trial.trial_id, "COMPLETED", 0.1, "score")
    assert oracle.create_trial("t").status != "RUNNING"  # both points tried: nothing left


def test_the_hyperband_brackets(tmp_path):
    oracle = new_oracle("hyperband", tmp_path, kt_space("a", "b", "c", "d"), max_epochs=9,
                        factor=3, hyperband_iterations=1)
    first = oracle.create_trial("t0")
    second = oracle.create_trial("t1")
    found = kt_adapter.brackets(oracle)
    assert found == oracle._brackets, "get_state()['brackets'] is no longer the live brackets"
    bracket = found[-1]
    assert set(bracket) >= {"bracket_num", "rounds"}
    # The first bracket is the most exploratory one, Keras Tuner's order (schedule() too).
    assert bracket["bracket_num"] == schedule(9, 3)[0][0]
    assert [info["id"] for info in bracket["rounds"][0]] == [first.trial_id, second.trial_id]
    assert all(info["past_id"] is None for info in bracket["rounds"][0])
    assert oracle.max_epochs == 9 and oracle.factor == 3  # what needed_models reads
    for max_epochs, factor in ((9, 3), (27, 3), (10, 2), (81, 3), (5, 4)):
        oracle.max_epochs, oracle.factor = max_epochs, factor
        for bracket_num in range(4):
            for rnd in range(bracket_num + 1):
                assert round_size(max_epochs, factor, bracket_num, rnd) == \
                    oracle._get_size(bracket_num, rnd), "Hyperband's round sizes changed"


# ---------------------------------------------------------------- nowhere else

OPTUNA_PRIVATE = {"_storage", "_study_id", "_trial_id", "_cached_frozen_trial", "_backend", "_rng",
                  "_random_sampler", "_heartbeat", "_rdb", "_create_scoped_session",
                  "_set_trial_attr_without_commit", "_set_trial_intermediate_value_without_commit",
                  "_set_trial_value_without_commit",
                  "_get_stale_trial_ids", "_CachedStorage"}
KT_PRIVATE = {"_brackets", "_get_size", "_retry_queue", "_record_values", "_set_project_dir",
              "_get_oracle_fname", "_get_trial_dir", "_save_trial", "_run_times", "_tried_so_far",
              "_seed_state", "_display", "_project_dir", "_current_bracket"}
TF_PRIVATE = {"_gradient_registry"}
PRIVATE = OPTUNA_PRIVATE | KT_PRIVATE | TF_PRIVATE
OTHER_LIBRARIES = {"_exit", "_replace", "_asdict", "_fields", "_make"}  # os, namedtuple


def own_private_names(trees) -> set[str]:
    """The private names tuneyard defines itself (functions, classes, attributes it sets)."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.rpartition(".")[2])
    return {n for n in names if n.startswith("_")}


def private_uses(tree) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, "module", None) or ""
            for name in [module, *(a.name for a in node.names)]:
                full = f"{module}.{name}" if module and name != module else name
                parts = full.split(".")
                if parts[0] in ("optuna", "keras_tuner") and (
                        "src" in parts[1:2] or any(p.startswith("_") for p in parts[1:])):
                    out.append((node.lineno, full))
        elif isinstance(node, ast.Attribute):
            receiver = node.value.id if isinstance(node.value, ast.Name) else None
            if node.attr in PRIVATE and receiver not in ("self", "cls"):
                out.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Constant) and node.value in PRIVATE:
            out.append((node.lineno, repr(node.value)))  # getattr(x, "_name")
        elif isinstance(node, ast.FunctionDef) and node.name in KT_PRIVATE:
            out.append((node.lineno, f"def {node.name}"))  # an override of a private method
    return out


def test_no_module_but_the_adapters_uses_a_private_optuna_or_keras_tuner_name():
    paths = sorted(SRC.rglob("*.py"))
    trees = {path: ast.parse(path.read_text(), str(path)) for path in paths}
    found = [f"{path.relative_to(SRC)}:{line}: {what}" for path, tree in trees.items()
             if path not in ADAPTERS for line, what in private_uses(tree)]
    assert not found, ("private Optuna, Keras Tuner or TensorFlow names outside the adapters:\n"
                       + "\n".join(found))
    # Any other `x._name` not defined by tuneyard itself is a library's private name.
    own = own_private_names(trees.values()) | OTHER_LIBRARIES
    foreign = [f"{path.relative_to(SRC)}:{node.lineno}: .{node.attr}"
               for path, tree in trees.items() if path not in ADAPTERS
               for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and not node.attr.startswith("__") and node.attr not in own]
    assert not foreign, "private names of some library outside the adapters:\n" + "\n".join(foreign)


def test_the_scan_finds_what_it_looks_for():
    source = ("import optuna.storages._heartbeat\nfrom keras_tuner.src.engine import trial\n"
              "s = study._storage\nr = getattr(sampler, '_rng', None)\nb = oracle._brackets\n"
              "g = getattr(ops, '_gradient_registry')\n"
              "class A:\n    def _save_trial(self, t):\n        return self._storage\n")
    found = [what for _, what in private_uses(ast.parse(source))]
    assert set(found) >= {"optuna.storages._heartbeat", "keras_tuner.src.engine", "._storage",
                          "'_rng'", "._brackets", "def _save_trial", "'_gradient_registry'"}
    assert "._storage" in found and found.count("._storage") == 1  # not self._storage


def test_pyproject_bounds_both_libraries_to_what_these_tests_pass_on():
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    wanted = {Requirement(r).name: Requirement(r).specifier
              for r in pyproject["project"]["dependencies"]}
    for name in ("optuna", "keras-tuner"):
        assert any(spec.operator in ("<", "<=", "~=", "==") for spec in wanted[name]), (
            f"{name} has no upper bound: a release may drop a private name tuneyard uses")
        assert version(name) in wanted[name], f"{name} {version(name)} is outside {wanted[name]}"
