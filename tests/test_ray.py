"""`--executor ray` on one machine: a real local Ray, started once for the module with four
declared GPUs (Ray gives each actor CUDA_VISIBLE_DEVICES from them, no GPU needed), running
the stand-in trainers of tests/cheap.py (devices, data once per node, a dead actor, the
trial timeout, Ctrl-C), and one tiny real Keras sweep for what only the real trainer does
(pruning judged by the driver, the kept model shipped back). Nothing of Ray or of the device
logic is replaced. Two nodes and a node that dies: tests/test_ray_nodes.py.
"""

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import optuna
import pytest
from cheap import SPACE, DataTrainer, DeviceTrainer, RayNodeTrainer
from inproc import tune

from tuneyard.analysis.ledger import is_interrupted
from tuneyard.engine.sweep import Events, Sweep, SweepOptions

ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")

TESTS = Path(__file__).resolve().parent


@contextlib.contextmanager
def importable_here():
    """Ray's processes, started inside the block, import tuneyard from this checkout and the
    stand-in trainers from tests/."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS.parent / "src"), str(TESTS), *([before] if before else [])])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def local_ray():
    with importable_here():
        ray.init(address="local", num_cpus=4, num_gpus=4, object_store_memory=80 * 2**20,
                 include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        yield
        ray.shutdown()


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


class Epochs(Events):
    """Counts the epochs the driver was told of, by trial."""

    def __init__(self):
        self.seen: dict[int, int] = {}

    def epoch_done(self, key, epoch, epochs, logs):
        self.seen[key] = self.seen.get(key, 0) + 1


def grid(space_path, results, study, trainer, events=None, **options):
    """A grid sweep of the cheap space: its stored trials by number, and its CSV's rows."""
    Sweep(SweepOptions(space=space_path, backend="grid", study=study, **options),
          trainer=trainer).run(events)
    stored = optuna.load_study(study_name=study, storage=f"sqlite:///{results / 'tuneyard.db'}")
    with (results / study / "leaderboard.csv").open() as handle:
        rows = {int(r["trial"]): r for r in csv.DictReader(handle)}
    return {t.number: t for t in stored.get_trials(deepcopy=False)}, rows


def span(trial):
    metrics = trial.user_attrs["result"]["metrics"]
    return metrics["t_start"], metrics["t_end"]


@pytest.mark.slow  # a Ray actor per GPU, and a local pool beside it
def test_each_trial_gets_its_own_gpu_and_the_study_matches_a_local_pool_run(
        space_path, results_in_tmp, monkeypatch, local_ray):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")  # this machine's, for --workers 4
    events = Epochs()
    trials, rows = grid(space_path, results_in_tmp, "on-ray", DeviceTrainer(seconds=0.3), events,
                        trials=8, workers=4, executor="ray")
    assert [t.state.name for t in trials.values()] == ["COMPLETE"] * 8
    for trial in trials.values():  # the device recorded is the one Ray gave the actor
        seen = trial.user_attrs["result"]["metrics"]["seen_gpu"]
        assert trial.user_attrs["device"] == f"gpu:{int(seen)}", trial.number
        assert trial.user_attrs["result"]["metrics"]["growth"] == 1.0
        assert rows[trial.number]["device"] == trial.user_attrs["device"]
    assert {t.user_attrs["device"] for t in trials.values()} == {"gpu:0", "gpu:1", "gpu:2", "gpu:3"}
    for a in trials.values():  # no two trials ran on one GPU at the same moment
        at_once = [b.number for b in trials.values() if b.user_attrs["device"] == a.user_attrs["device"]
                   and span(b)[0] <= span(a)[0] < span(b)[1]]
        assert at_once == [a.number], (a.number, at_once)
    assert events.seen == {n: 3 for n in trials}  # every epoch streamed back as it ended

    local, local_rows = grid(space_path, results_in_tmp, "local-pool", DeviceTrainer(), trials=8,
                             workers=2)
    assert {n: (t.params, t.value, t.state.name) for n, t in trials.items()} == \
        {n: (t.params, t.value, t.state.name) for n, t in local.items()}
    same = ["status", "learning_rate", "optimizer", "layers", "units_2", "val_mse", "epochs"]
    assert {n: [r[k] for k in same] for n, r in rows.items()} == \
        {n: [r[k] for k in same] for n, r in local_rows.items()}


COUNTING = '''\
import os
from pathlib import Path

from tuneyard.testing import TinyRegression


class Counting(TinyRegression):
    """TinyRegression that notes each load (the process that loaded it) beside this file."""

    def load(self, **kwargs):
        with open(Path(__file__).with_name("loads.txt"), "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        return super().load(**kwargs)
'''

KERAS_SPACE = """\
name: counting
workload: counting:Counting
objective: {metric: val_mse, direction: minimize}
training: {epochs: 2, batch_size: 32}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-3, high: 3.0e-2, log: true}
  units: {type: int, low: 4, high: 16}
"""


class PruneOdd(optuna.pruners.BasePruner):
    """Prunes the odd-numbered trials at their first report."""

    def prune(self, study, trial):
        return trial.number % 2 == 1


def counting_space(tmp_path, text, module):
    """A folder with the space `text` (workload counting:Counting) as counting.yaml, its
    workload as `module`.py (a module name a test process imports once)."""
    folder = tmp_path / "space"
    folder.mkdir()
    (folder / f"{module}.py").write_text(COUNTING)
    (folder / "counting.yaml").write_text(text.replace("counting:Counting", f"{module}:Counting"))
    return folder


@pytest.mark.slow  # four Ray actors and a node's dataset
def test_the_data_is_loaded_once_per_node_and_shared_by_its_actors(tmp_path, results_in_tmp, local_ray):
    folder = counting_space(tmp_path, SPACE.replace("tuneyard.testing:TinyRegression", "counting:Counting"),
                            "counting_shared")
    # Two slots whose actors are replaced after each trial (--trials-per-process 1): four actors.
    trials, _ = grid(str(folder / "counting.yaml"), results_in_tmp, "data", DataTrainer(), trials=4,
                     workers=2, trials_per_process=1, executor="ray")
    assert len({t.user_attrs["worker"] for t in trials.values()}) == 4  # four actors...
    loads = (folder / "loads.txt").read_text().split()
    assert len(loads) == 1 and loads[0] != str(os.getpid())  # ...one load, on the node
    metrics = [t.user_attrs["result"]["metrics"] for t in trials.values()]
    assert {m["shared"] for m in metrics} == {1.0}  # the object store's arrays, not copies
    assert len({m["x0"] for m in metrics}) == 1


@pytest.mark.slow  # real Keras in a Ray actor
def test_real_keras_on_ray_is_pruned_by_the_driver_and_keeps_its_model_here(tmp_path, results_in_tmp,
                                                                           local_ray):
    folder = counting_space(tmp_path, KERAS_SPACE, "counting_keras")
    events = Epochs()
    options = SweepOptions(space=str(folder / "counting.yaml"), backend="tpe", study="keras", trials=2,
                           workers=1, executor="ray", prune="median", subset=120)
    result = Sweep(options, pruner=PruneOdd()).run(events)
    states = {r["trial"]: (r["status"], r["epochs"]) for r in result.rows}
    assert states == {0: ("COMPLETE", 2), 1: ("PRUNED", 1)}
    assert events.seen == {0: 2, 1: 1}
    study = optuna.load_study(study_name="keras", storage=f"sqlite:///{results_in_tmp / 'tuneyard.db'}")
    assert list(study.trials[1].intermediate_values) == [0]  # reported here, from the driver
    best = min((r for r in result.rows if r["status"] == "COMPLETE"), key=lambda r: r["value"])
    kept = results_in_tmp / "keras" / "best.keras"
    assert zipfile.is_zipfile(kept)  # a Keras file, written here from the bytes sent back
    assert json.loads((results_in_tmp / "keras" / "best.json").read_text())["trial"] == best["trial"]
    assert not list((results_in_tmp / "keras").glob("candidates/*"))
    assert len((folder / "loads.txt").read_text().split()) == 1  # on the node, not here


def test_an_address_where_nothing_answers_is_one_line_and_exit_2_within_seconds(space_path):
    started = time.monotonic()
    out = tune("run", "--space", space_path, "--executor", "ray", "--address", "ray://127.0.0.1:1",
               "--trials", "2")
    assert out.returncode == 2, out.stdout + out.stderr
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) == 1 and "ray://127.0.0.1:1" in lines[0] and "nothing answers" in lines[0], lines
    assert time.monotonic() - started < 30  # Ray's own retries take minutes


def test_an_unknown_executor_and_options_that_need_ray_are_refused(space_path):
    out = tune("run", "--space", space_path, "--executor", "spark")
    assert out.returncode == 2 and "spark" in out.stdout + out.stderr
    for args, said in ((["--address", "auto"], "add --executor ray"),
                       (["--executor", "ray", "--address", "auto", "--gpus", "0"], "drop --gpus")):
        out = tune("run", "--space", space_path, *args)
        lines = (out.stdout + out.stderr).strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1 and said in lines[0], lines


def test_without_ray_installed_the_executor_says_how_to_install_it(space_path):
    # `import ray` fails in this process as it would where Ray is not installed.
    code = ("import sys; sys.modules['ray'] = None; "
            f"sys.argv = ['tune', 'run', '--space', {space_path!r}, '--executor', 'ray']; "
            "from tuneyard.cli.main import main; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(TESTS.parent / "src")})
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert out.returncode == 2, out.stdout + out.stderr
    assert len(lines) == 1 and "pip install 'tuneyard[ray]'" in lines[0], lines


@pytest.mark.slow  # a Ray actor started, then killed
def test_a_trial_past_its_timeout_has_its_actor_killed_and_is_recorded_fail(space_path, results_in_tmp,
                                                                             local_ray):
    trials, rows = grid(space_path, results_in_tmp, "slow", DeviceTrainer(seconds=30), trials=2, workers=2,
                        executor="ray", trial_timeout=0.5)
    assert [t.state.name for t in trials.values()] == ["FAIL", "FAIL"]
    assert all("--trial-timeout (0.5s)" in r["error"] for r in rows.values())
    assert {r["device"] for r in rows.values()} <= {"gpu:0", "gpu:1", "gpu:2", "gpu:3"}


@pytest.mark.slow  # Ctrl-C, then the same sweep again
def test_ctrl_c_kills_the_actors_and_leaves_the_study_resumable(space_path, results_in_tmp, tmp_path,
                                                               local_ray):
    held = tmp_path / "held"

    def interrupt():  # Ctrl-C once a trial is running on Ray
        while not held.exists():
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    node = ray.get_runtime_context().get_node_id()
    threading.Thread(target=interrupt, daemon=True).start()
    options = dict(space=space_path, backend="grid", study="cut", trials=4, workers=2, executor="ray")
    with pytest.raises(KeyboardInterrupt):
        Sweep(SweepOptions(**options), trainer=RayNodeTrainer(node, str(held), after=1)).run()
    pid = int(held.read_text())
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)  # the actor that ran the trial is gone
    cut = [r for r in _rows(results_in_tmp, "cut") if r["status"] != "COMPLETE"]
    assert cut and all(is_interrupted(r) for r in cut), cut
    options.update(workers=1, executor="local")  # resumed here: what Ray left is a plain study
    result = Sweep(SweepOptions(**options), trainer=DeviceTrainer()).run()
    assert result.done == 4  # the cut trials spent nothing and ran again


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _rows(results, study):
    with (results / study / "leaderboard.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow  # an actor that dies, on a study shared with workers
def test_a_dead_actor_s_trial_is_queued_again_through_a_shared_study_s_storage(space_path, results_in_tmp,
                                                                                tmp_path, local_ray):
    trainer = DeviceTrainer(seconds=0.2, die_once=str(tmp_path / "died"))
    result = Sweep(SweepOptions(space=space_path, backend="grid", study="shared", trials=4, workers=2,
                                executor="ray", shared=True), trainer=trainer).run()
    done = [r for r in result.rows if r["status"] == "COMPLETE"]
    lost = [r for r in result.rows if r["status"] != "COMPLETE"]
    assert result.done == 4 and len({tuple(sorted(r["params"].items())) for r in done}) == 4
    assert len(lost) == 1 and is_interrupted(lost[0]) and "ray actor died" in lost[0]["error"], lost
    assert lost[0]["params"] in [r["params"] for r in done]  # the storage's retry ran its point
