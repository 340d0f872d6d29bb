"""--tensorboard DIR and --mlflow URI (issue 22, tracking), read back with TensorBoard's own
reader and HParams plugin and with MLflow's client on a real local store (SQLite).

One module study (the stand-in trainer, in this process, resumed once) is shared by the
reading tests; the MLflow database is made once for the module (MLflow takes seconds to
create its tables).
"""

import sys
import types
from pathlib import Path

import pytest
from cheap import CheapTrainer, TrackedTrainer, formula
from inproc import tune

from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.errors import TuneyardError
from tuneyard.space.file import parse_space

SPACE = """\
name: tracked
workload: tuneyard.testing:TinyRegression
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 16}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true, grid: [1.0e-3, 1.0e-2]}
  optimizer: {type: choice, values: [adam, sgd, rmsprop]}
"""
# What a trial's optimizer makes of it (TrackedTrainer), as MLflow and TensorBoard say it.
ENDS = {"adam": ("COMPLETE", "FINISHED", 1), "sgd": ("FAIL", "FAILED", 2),
        "rmsprop": ("PRUNED", "KILLED", 0)}  # 1 success, 2 failure, 0 unknown (HParams plugin)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A grid study of 6 points, tracked to both: 4 trials, then resumed to all 6."""
    root = tmp_path_factory.mktemp("tracking")
    made = {"tb": root / "tb", "uri": f"sqlite:///{root / 'mlflow.db'}", "root": root}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(root / "results"))
        for trials in (4, 6):
            options = SweepOptions(space=parse_space(SPACE, "<tracked>"), backend="grid",
                                   trials=trials, study="tracked", tensorboard=str(made["tb"]),
                                   mlflow=made["uri"])
            result = Sweep(options, trainer=TrackedTrainer()).run()
            made.setdefault("parents", []).append(_parents(made["uri"], "tracked"))
    made["rows"], made["folder"] = result.rows, result.folder
    return made


def _client(uri):
    # heavy: mlflow
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _runs(uri, experiment):
    client = _client(uri)
    return client, client.search_runs([client.get_experiment_by_name(experiment).experiment_id])


def _parents(uri, experiment):
    return [r.info.run_id for r in _runs(uri, experiment)[1] if "mlflow.parentRunId" not in r.data.tags]


def _tensorflow_free(monkeypatch):
    """TensorBoard's own switch to read without TensorFlow (its `notf` build): the reader
    would otherwise import TensorFlow (seconds) to open files it reads as well without."""
    monkeypatch.setitem(sys.modules, "tensorboard.compat.notf", types.ModuleType("notf"))


def _session_groups(logdir):
    """The HParams dashboard's table: what TensorBoard's hparams plugin answers."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    events = plugin_event_multiplexer.EventMultiplexer().AddRunsFromDirectory(str(logdir))
    events.Reload()
    board = base_plugin.TBContext(
        data_provider=data_provider.MultiplexerDataProvider(events, str(logdir)), multiplexer=events)
    plugin = backend_context.Context(board)
    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=100, include_metrics=True, allowed_statuses=[0, 1, 2, 3],
        col_params=[api_pb2.ColParams(metric=api_pb2.MetricName(tag="best_val_mse"))])
    groups = list_session_groups.Handler(context.RequestContext(), plugin, "", request).run()
    experiment = plugin.experiment_from_metadata(
        context.RequestContext(), "", True, plugin.hparams_metadata(context.RequestContext(), ""),
        plugin.hparams_from_data_provider(context.RequestContext(), "", 100))
    return experiment, groups.session_groups


def _plain(value):
    kind = value.WhichOneof("kind")
    return {"number_value": value.number_value, "string_value": value.string_value,
            "bool_value": value.bool_value}[kind]


def test_the_hparams_dashboard_lists_every_trial_with_its_parameters_and_objective(study, monkeypatch):
    _tensorflow_free(monkeypatch)
    experiment, groups = _session_groups(study["tb"] / "tracked")
    assert [h.name for h in experiment.hparam_infos] == ["learning_rate", "optimizer"]
    assert [m.name.tag for m in experiment.metric_infos] == ["best_val_mse"]
    assert sorted(experiment.hparam_infos[1].domain_discrete) == ["adam", "rmsprop", "sgd"]
    by_trial = {g.name: g for g in groups}
    assert sorted(by_trial) == [f"trial-{n}" for n in range(6)]
    for row in study["rows"]:
        group = by_trial[f"trial-{row['trial']}"]
        assert {k: _plain(v) for k, v in group.hparams.items()} == row["params"]
        state, _, status = ENDS[row["params"]["optimizer"]]
        assert row["status"] == state and [s.status for s in group.sessions] == [status]
        objective = [m.value for m in group.metric_values if m.name.tag == "best_val_mse"]
        assert objective == ([pytest.approx(row["value"])] if state == "COMPLETE" else [])
    # The config is written once per study, not again on resume.
    assert len(list((study["tb"] / "tracked").glob("events.out.tfevents.*"))) == 1


def test_each_trial_run_holds_its_per_epoch_scalars(study, monkeypatch):
    _tensorflow_free(monkeypatch)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for row in study["rows"]:
        run = EventAccumulator(str(study["tb"] / "tracked" / f"trial-{row['trial']}")).Reload()
        epochs = {"COMPLETE": 3, "PRUNED": 1, "FAIL": 0}[row["status"]]
        assert len(list(Path(run.path).iterdir())) == 1  # one file, one writer
        scalars = [(e.step, e.value) for e in run.Scalars("val_mse")] if epochs else []
        base = formula(row["params"])  # TrackedTrainer: base + 1/epoch; a pruned one base + 1
        expected = [(1, base + 1.0)] if row["status"] == "PRUNED" else [
            (e, base + 1.0 / e) for e in range(1, epochs + 1)]
        assert scalars == [(s, pytest.approx(v)) for s, v in expected]


def test_mlflow_holds_the_study_as_a_parent_run_and_each_trial_as_a_child(study):
    client, runs = _runs(study["uri"], "tracked")
    first, second = study["parents"]
    assert len(first) == 1 and second == first  # the resumed sweep went on in the same run
    parent = next(r for r in runs if r.info.run_id == first[0])
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == first[0]}
    assert len(runs) == 7 and sorted(children) == [f"trial-{n}" for n in range(6)]
    assert parent.info.status == "FINISHED" and parent.data.params["backend"] == "grid"
    best = min(r["value"] for r in study["rows"] if r["status"] == "COMPLETE")
    assert parent.data.metrics["best_val_mse"] == pytest.approx(best)
    for row in study["rows"]:
        run = children[f"trial-{row['trial']}"]
        state, status, _ = ENDS[row["params"]["optimizer"]]
        assert (run.info.status, run.data.tags["state"]) == (status, state)
        assert run.data.params == {k: str(v) for k, v in row["params"].items()}
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_mse")]
        assert steps == {"COMPLETE": [1, 2, 3], "PRUNED": [1], "FAIL": []}[state]
        if state == "FAIL":
            assert run.data.tags["tuneyard.error"] == "ValueError: cheap failure"
        if state == "COMPLETE":
            assert run.data.metrics["best_val_mse"] == pytest.approx(row["value"])


def test_the_kept_best_model_is_the_best_trials_artifact(study):
    client, runs = _runs(study["uri"], "tracked")
    best = min((r for r in study["rows"] if r["status"] == "COMPLETE"), key=lambda r: r["value"])
    run = next(r for r in runs if r.info.run_name == f"trial-{best['trial']}")
    assert [a.path for a in client.list_artifacts(run.info.run_id, "model")] == ["model/best.keras"]
    copy = Path(client.download_artifacts(run.info.run_id, "model/best.keras", str(study["root"])))
    assert copy.read_bytes() == (study["folder"] / "best.keras").read_bytes()
    others = [r for r in runs if r.info.run_id != run.info.run_id]
    assert not any(client.list_artifacts(r.info.run_id) for r in others)


def test_ctrl_c_leaves_no_mlflow_run_running(study, tmp_path):
    options = SweepOptions(space=parse_space(SPACE, "<tracked>"), backend="grid", trials=4,
                           study="cut", tensorboard=str(study["tb"]), mlflow=study["uri"])
    with pytest.raises(KeyboardInterrupt):
        Sweep(options, trainer=CheapTrainer(interrupt_at=2)).run()
    _, runs = _runs(study["uri"], "cut")
    assert sorted((r.info.run_name, r.info.status) for r in runs) == [
        ("cut", "KILLED"), ("trial-0", "FINISHED"), ("trial-1", "KILLED")]
    cut = next(r for r in runs if r.info.run_name == "trial-1")
    assert cut.data.tags["tuneyard.error"].startswith("interrupted by the user")


def test_trials_in_worker_processes_reach_both_and_a_killed_one_keeps_its_epochs(study, monkeypatch):
    space = SPACE.replace("[adam, sgd, rmsprop]", "[adam, nadam]").replace(
        "grid: [1.0e-3, 1.0e-2]", "grid: [1.0e-3]")
    options = SweepOptions(space=parse_space(space, "<tracked>"), backend="grid", workers=2,
                           study="workers", trial_timeout=1.0, tensorboard=str(study["tb"]),
                           mlflow=study["uri"])
    result = Sweep(options, trainer=TrackedTrainer(hang_on="nadam")).run()
    killed = next(r for r in result.rows if r["params"]["optimizer"] == "nadam")
    assert killed["status"] == "FAIL" and "--trial-timeout" in killed["error"]
    client, runs = _runs(study["uri"], "workers")
    by_name = {r.info.run_name: r for r in runs}
    assert {r.info.status for r in runs} == {"FINISHED", "FAILED"}  # none RUNNING
    run = by_name[f"trial-{killed['trial']}"]
    assert run.info.status == "FAILED" and run.data.tags["state"] == "FAIL"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_mse")] == [1]
    _tensorflow_free(monkeypatch)
    _, groups = _session_groups(study["tb"] / "workers")
    statuses = {g.name: g.sessions[0].status for g in groups}
    assert statuses == {f"trial-{killed['trial']}": 2, f"trial-{1 - killed['trial']}": 1}


def test_a_bad_folder_or_uri_is_one_line_and_exit_2(study, tmp_path):
    space = tmp_path / "tracked.yaml"
    space.write_text(SPACE)
    file = tmp_path / "a-file"
    file.write_text("")
    cases = [("--tensorboard", file, "is a file"),
             ("--tensorboard", "", "needs a folder for the event files"),
             ("--mlflow", " ", "needs a tracking URI"),
             ("--tensorboard", tmp_path / "no" / "such", "does not exist; create it first"),
             ("--mlflow", f"sqlite:///{tmp_path / 'no' / 'x.db'}", "does not exist; create it first"),
             ("--mlflow", "foo://nowhere", "MLflow knows no store of that kind"),
             ("--mlflow", str(tmp_path / "mlruns"), "no longer writes a folder of files")]
    for option, value, words in cases:
        done = tune("run", "--space", space, "--backend", "grid", option, value)
        assert done.returncode == 2, done.stdout + done.stderr
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "no").exists() and not (tmp_path / "mlruns").exists()


def test_a_missing_library_names_its_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed: find_spec says so
    with pytest.raises(TuneyardError, match=r"pip install 'tuneyard\[mlflow\]'"):
        SweepOptions(space="x", mlflow=f"sqlite:///{tmp_path / 'm.db'}")


def test_the_api_names_its_own_arguments(tmp_path):
    import tuneyard

    (tmp_path / "f").write_text("")
    with pytest.raises(TuneyardError, match=r"^tensorboard=.* it is a file"):
        tuneyard.search(lambda params: None, ([[0.0]], [0.0]), space={}, tensorboard=tmp_path / "f")


@pytest.mark.slow
def test_a_real_keras_sweep_logs_its_epochs_and_its_best_model(study, tmp_path, monkeypatch):
    space = tmp_path / "tiny.yaml"
    space.write_text("workload: tuneyard.testing:TinyRegression\n"
                     "objective: {metric: val_mse, direction: minimize}\n"
                     "training: {epochs: 2, batch_size: 64}\n"
                     "hyperparameters:\n  units: {type: int, low: 4, high: 8, grid: [4, 8]}\n")
    done = tune("run", "--space", space, "--backend", "grid", "--study", "keras", "--tensorboard",
                study["tb"], "--mlflow", study["uri"], "--subset", 100)
    assert done.returncode == 0, done.stdout + done.stderr
    client, runs = _runs(study["uri"], "keras")
    best_trial = "trial-" + _parent(runs).data.tags["tuneyard.best_trial"]
    best = next(r for r in runs if r.info.run_name == best_trial)
    assert [a.path for a in client.list_artifacts(best.info.run_id, "model")] == ["model/best.keras"]
    assert [m.step for m in client.get_metric_history(best.info.run_id, "loss")] == [1, 2]
    _tensorflow_free(monkeypatch)
    experiment, groups = _session_groups(study["tb"] / "keras")
    assert len(groups) == 2 and all(len(g.metric_values) == 1 for g in groups)


def _parent(runs):
    return next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)


def test_runs_a_killed_process_left_running_are_closed_when_the_study_resumes(study):
    def sweep(trials):
        options = SweepOptions(space=parse_space(SPACE, "<tracked>"), backend="grid", trials=trials,
                               study="left", mlflow=study["uri"])
        Sweep(options, trainer=CheapTrainer()).run()

    sweep(1)
    client, (parent,) = _runs(study["uri"], "left")[0], _parents(study["uri"], "left")
    # What kill -9 leaves: the parent run and a trial's child run RUNNING.
    client.update_run(parent, status="RUNNING")
    left = client.create_run(client.get_run(parent).info.experiment_id, run_name="trial-9",
                             tags={"mlflow.parentRunId": parent}).info.run_id
    sweep(2)
    assert client.get_run(left).info.status == "KILLED"
    assert client.get_run(left).data.tags["state"] == "FAIL"
    assert client.get_run(left).data.tags["tuneyard.error"].startswith("interrupted")
    _, runs = _runs(study["uri"], "left")
    assert sorted(r.info.status for r in runs) == ["FINISHED", "FINISHED", "FINISHED", "KILLED"]
