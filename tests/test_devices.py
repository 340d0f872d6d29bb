"""A GPU per worker, decided on a machine without one: CUDA_VISIBLE_DEVICES declares the
devices (as SLURM and Ray set it), real spawned worker processes run the stand-in trainer
(tests/cheap.py DeviceTrainer: no TensorFlow, a second or two a test) and say in their
metrics what their process was given. Nothing of the device logic is replaced; `tune` runs
in this process (tests/inproc.py).
"""

import csv
import os
import subprocess
import sys
import textwrap

import optuna
import pytest
from cheap import SPACE, CheapTrainer, DeviceTrainer
from inproc import tune

from tuneyard.analysis.leaderboard import device_text
from tuneyard.engine.devices import slot_devices, visible_gpus
from tuneyard.engine.hardware import cpu_precision, gpu_precision
from tuneyard.engine.sweep import Sweep, SweepOptions


def tune_process(*args, env=None):
    """`tune ARGS` in a fresh process: Keras picks its backend once per process, at import,
    and this test process has imported it (TensorFlow) already, so in-process `tune` would
    report that one whatever KERAS_BACKEND says."""
    return subprocess.run([sys.executable, "-m", "tuneyard", *map(str, args)], text=True,
                          capture_output=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


@pytest.fixture
def declare(monkeypatch):
    """Declare this machine's GPUs as a scheduler would ("" hides every GPU)."""
    return lambda value: monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)


# nvidia-smi as a driver of 2026 answers on a machine with two H100s (`--query-gpu` with
# compute_cap; OLD_DRIVER=1: a driver before 510, which refuses that field). A stand-in for
# the program, as tests/test_quiet_import.py stands in for tensorflow: what tuneyard makes of
# its output is what these tests check.
NVIDIA_SMI = """#!/bin/sh
case "$*" in
  -L) printf 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1a2b)\\n'
      printf 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-3c4d)\\n' ;;
  *compute_cap*) [ -n "$OLD_DRIVER" ] && { echo 'Field "compute_cap" is not a valid field'; exit 2; }
                 printf '0, NVIDIA H100 80GB HBM3, 81559, 9.0\\n1, NVIDIA H100 80GB HBM3, 81559, 9.0\\n' ;;
  *) printf '0, NVIDIA H100 80GB HBM3, 81559\\n1, NVIDIA H100 80GB HBM3, 81559\\n' ;;
esac
"""


@pytest.fixture
def two_h100s(tmp_path, monkeypatch):
    """nvidia-smi on the PATH saying two H100s; CUDA_VISIBLE_DEVICES not set."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(NVIDIA_SMI)
    (folder / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return folder


def sweep(space_path, results, trainer, **options):
    """A grid sweep of the cheap space; its stored trials in order, and its CSV's rows."""
    Sweep(SweepOptions(space=space_path, backend="grid", study="gpus", **options), trainer=trainer).run()
    study = optuna.load_study(study_name="gpus", storage=f"sqlite:///{results / 'tuneyard.db'}")
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    with (results / "gpus" / "leaderboard.csv").open() as handle:
        rows = {int(r["trial"]): r for r in csv.DictReader(handle)}
    return trials, rows


def seen(trial) -> dict:
    """What the trial's worker process was given: its device, pid, and when it trained."""
    metrics = trial.user_attrs["result"]["metrics"]
    return {"device": trial.user_attrs["device"], "gpu": int(metrics["seen_gpu"]),
            "growth": metrics["growth"], "pid": trial.user_attrs["worker"].rsplit(":", 1)[1],
            "span": (metrics["t_start"], metrics["t_end"])}


def most_at_once_per_device(runs: list[dict]) -> dict[str, int]:
    """The most trials that trained at the same moment on each device."""
    most = {}
    for run in runs:
        start = run["span"][0]
        at_once = sum(r["device"] == run["device"] and r["span"][0] <= start < r["span"][1]
                      for r in runs)
        most[run["device"]] = max(most.get(run["device"], 0), at_once)
    return most


def test_visible_gpus_read_cuda_visible_devices_as_cuda_does(declare):
    for value, expected in [("0,1,2,3", ["0", "1", "2", "3"]), ("", []), ("-1", []),
                            ("NoDevFiles", []), ("2, 5", ["2", "5"]), ("1,-1,2", ["1"]),
                            ("GPU-8e3f0a1b-77aa,3", ["GPU-8e3f0a1b-77aa", "3"])]:
        declare(value)
        assert visible_gpus() == (expected, "CUDA_VISIBLE_DEVICES"), value


def test_slots_go_round_robin_and_the_device_column_says_what_was_not_seen():
    assert slot_devices(["0", "2"], 5) == ["0", "2", "0", "2", "0"]
    assert slot_devices([], 2) == [None, None]
    assert device_text("gpu:2", "gpu:0") == "gpu:2"  # a pinned worker's one GPU is its gpu:0
    assert device_text("cpu", "cpu:0") == "cpu"
    assert device_text("gpu:2", "cpu:0") == "gpu:2 (not visible to the Keras backend: ran on cpu:0)"
    assert device_text("gpu:1", "") == "gpu:1" and device_text(None, None) is None


def test_precision_follows_compute_capability_and_cpu_flags():
    assert gpu_precision(6.1) == "float32"
    assert gpu_precision(7.5) == "float32, mixed float16"
    assert gpu_precision(9.0) == "float32, mixed float16, bfloat16"
    assert cpu_precision({"avx2", "fma"}) == "float32 only (bfloat16 emulated, slow)"
    assert cpu_precision({"avx512_bf16", "amx_bf16"}) == "float32, bfloat16 (amx_bf16, avx512_bf16)"


@pytest.mark.slow  # four worker processes
def test_each_worker_gets_its_own_gpu_round_robin_with_memory_growth(space_path, results_in_tmp, declare):
    declare("0,1,2,3")
    trials, rows = sweep(space_path, results_in_tmp, DeviceTrainer(seconds=0.4), trials=8, workers=4)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 8
    runs = [seen(t) for t in trials]
    for run in runs:  # the device recorded is the one the worker's environment held
        assert run["device"] == f"gpu:{run['gpu']}" and run["growth"] == 1.0, run
    by_pid = {}
    for run in runs:
        by_pid.setdefault(run["pid"], set()).add(run["device"])
    assert all(len(d) == 1 for d in by_pid.values()), by_pid  # a process keeps its device
    assert sorted(d.pop() for d in by_pid.values()) == ["gpu:0", "gpu:1", "gpu:2", "gpu:3"]
    assert set(most_at_once_per_device(runs).values()) == {1}  # no two running on one GPU
    assert {n: r["device"] for n, r in rows.items()} == {t.number: t.user_attrs["device"] for t in trials}


@pytest.mark.slow  # two worker processes
def test_gpus_picks_the_cards(space_path, results_in_tmp, declare):
    declare("0,1,2,3")
    trials, _ = sweep(space_path, results_in_tmp, DeviceTrainer(), trials=4, workers=2, gpus="1,3")
    assert sorted({seen(t)["gpu"] for t in trials}) == [1, 3]


@pytest.mark.slow  # four worker processes on two declared cards
def test_trials_per_gpu_puts_that_many_workers_on_a_card(space_path, results_in_tmp, declare):
    declare("0,1")
    trials, _ = sweep(space_path, results_in_tmp, DeviceTrainer(seconds=0.4), trials=8, workers=4,
                      trials_per_gpu=2)
    runs = [seen(t) for t in trials]
    pids = {}
    for run in runs:
        pids.setdefault(run["device"], set()).add(run["pid"])
    assert {d: len(p) for d, p in pids.items()} == {"gpu:0": 2, "gpu:1": 2}
    assert max(most_at_once_per_device(runs).values()) <= 2


@pytest.mark.slow  # six worker processes, one trial each
def test_a_successor_process_keeps_the_device_of_the_one_it_replaces(space_path, results_in_tmp, declare):
    # Trials on GPU 0 take four times as long, so the other slots retire first and more
    # often: a successor handed the next card in turn instead of its slot's would put a
    # trial on GPU 0 while slot 0's runs there.
    declare("0,1,2")
    trials, _ = sweep(space_path, results_in_tmp, DeviceTrainer(seconds=0.2, slow_gpu="0"), trials=8,
                      workers=3, trials_per_process=1)
    runs = [seen(t) for t in trials]
    assert len({r["pid"] for r in runs}) == 8  # every trial in a fresh process
    assert sorted({r["device"] for r in runs}) == ["gpu:0", "gpu:1", "gpu:2"]
    assert set(most_at_once_per_device(runs).values()) == {1}
    assert all(r["device"] == f"gpu:{r['gpu']}" for r in runs)


@pytest.mark.slow  # three worker processes
def test_a_dead_worker_s_trial_is_recorded_fail_on_its_gpu_and_its_replacement_takes_that_gpu(
        space_path, results_in_tmp, declare, tmp_path):
    declare("0,1")
    trainer = DeviceTrainer(seconds=0.2, die_once=str(tmp_path / "died"))
    trials, rows = sweep(space_path, results_in_tmp, trainer, trials=5, workers=2)
    (dead,) = [t for t in trials if t.state.name == "FAIL"]
    assert rows[dead.number]["error"] == "worker process exited with code 3"
    lost = dead.user_attrs["device"]
    runs = [seen(t) for t in trials if t.state.name == "COMPLETE"]
    assert len(runs) == 4 and lost in {"gpu:0", "gpu:1"}
    pids = {}
    for run in runs:
        pids.setdefault(run["device"], set()).add(run["pid"])
    other = ({"gpu:0", "gpu:1"} - {lost}).pop()
    assert len(pids[other]) == 1 and len(pids.get(lost, ())) == 1  # one replacement, on that GPU
    assert not pids[other] & pids[lost]
    assert set(most_at_once_per_device(runs).values()) == {1}


@pytest.mark.slow  # two worker processes
def test_no_gpu_leaves_workers_as_they_always_were(space_path, results_in_tmp, declare):
    declare("")  # hidden: no GPU, whatever the machine has
    trials, rows = sweep(space_path, results_in_tmp, DeviceTrainer(), trials=4, workers=2)
    assert {seen(t)["device"] for t in trials} == {"cpu"}
    assert {(seen(t)["gpu"], seen(t)["growth"]) for t in trials} == {(-1, 0.0)}  # nothing set
    assert {r["device"] for r in rows.values()} == {"cpu"}


def test_trials_in_this_process_record_its_devices(space_path, results_in_tmp, declare):
    declare("0,1")
    trials, rows = sweep(space_path, results_in_tmp, CheapTrainer(), trials=2)
    assert [t.user_attrs["device"] for t in trials] == ["gpu:0,1", "gpu:0,1"]
    assert [r["device"] for r in rows.values()] == ["gpu:0,1", "gpu:0,1"]


@pytest.mark.parametrize("declared, flags, says", [
    ("0,1", ["--gpus", "7"], "--gpus 7: GPU 7 is not visible; the visible GPUs are 0,1"),
    ("", ["--gpus", "0"], "--gpus 0: no GPU is visible (CUDA_VISIBLE_DEVICES)"),
    ("0,1", ["--gpus", "abc"], "'abc' is not a GPU"),
    ("0,1", ["--gpus", "1,1"], "names GPU 1 twice"),
    ("0,1", ["--trials-per-gpu", "0"], "--trials-per-gpu must be at least 1, got 0"),
    ("0", ["--workers", "2"], "--workers 2 needs 2 GPUs at --trials-per-gpu 1 and 1 are given (0); "
                              "use --workers 1 or fewer, --trials-per-gpu 2"),
    ("0,1", ["--gpus", "1", "--trials-per-process", "0"], "set CUDA_VISIBLE_DEVICES instead"),
])
def test_bad_device_options_are_one_line_and_exit_2(space_path, declared, flags, says):
    done = tune("run", "--space", space_path, "--trials", "1", "--timeout", "1m", *flags,
                env={"CUDA_VISIBLE_DEVICES": declared})
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_a_missing_keras_backend_library_is_named_in_one_line(space_path):
    # torch is not installed here: what `tune run` says on a machine without its backend.
    done = tune_process("run", "--space", space_path, "--trials", "1", "--timeout", "1m",
                        env={"KERAS_BACKEND": "torch"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Keras would train with torch (KERAS_BACKEND), which is not installed: set "
        "KERAS_BACKEND=tensorflow (installed here), or pip install torch"]


def test_every_loader_of_a_space_s_data_names_the_missing_backend_library(tmp_path, monkeypatch):
    # `tune compare` loads data and trains without a sweep; keras.json chooses the backend
    # when KERAS_BACKEND is not set, as Keras reads it. torch is not installed here.
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    (tmp_path / "keras.json").write_text('{"backend": "torch"}')
    done = tune_process("compare", "--space", "sine_lstm", "--vary", "units=32,64", "--epochs", "1",
                          "--subset", "50", env={"KERAS_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: Keras would train with torch ({tmp_path / 'keras.json'}), which is not installed: "
        "set KERAS_BACKEND=tensorflow (installed here), or pip install torch"]


def test_without_cuda_visible_devices_the_gpus_are_nvidia_smi_s(two_h100s, monkeypatch):
    assert visible_gpus() == (["0", "1"], "nvidia-smi -L")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")  # a scheduler's choice wins over the node's list
    assert visible_gpus() == (["1"], "CUDA_VISIBLE_DEVICES")


def test_tune_devices_lists_nvidia_smi_s_gpus_with_memory_and_precision(two_h100s, monkeypatch):
    done = tune("devices", env={"KERAS_BACKEND": "torch"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "GPUs (nvidia-smi -L): 2; each worker of --workers N gets one",
        "  gpu 0: NVIDIA H100 80GB HBM3, 81559 MiB, compute capability 9.0; precision: float32, "
        "mixed float16, bfloat16",
        "  gpu 1: NVIDIA H100 80GB HBM3, 81559 MiB, compute capability 9.0; precision: float32, "
        "mixed float16, bfloat16"]
    monkeypatch.setenv("OLD_DRIVER", "1")
    old = tune("devices", env={"KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": "1"})
    assert old.stdout.splitlines()[:2] == [
        "GPUs (CUDA_VISIBLE_DEVICES): 1; each worker of --workers N gets one",
        "  gpu 1: NVIDIA H100 80GB HBM3, 81559 MiB, compute capability unknown; precision: unknown "
        "(compute capability not reported)"]


@pytest.mark.slow  # two worker processes
def test_workers_are_pinned_to_the_gpus_nvidia_smi_lists(space_path, results_in_tmp, two_h100s):
    trials, _ = sweep(space_path, results_in_tmp, DeviceTrainer(), trials=4, workers=2)
    assert {(seen(t)["device"], seen(t)["gpu"]) for t in trials} == {("gpu:0", 0), ("gpu:1", 1)}


def _cpu_flags() -> set:
    with open("/proc/cpuinfo") as info:
        return next((set(line.split(":")[1].split()) for line in info if line.startswith("flags")), set())


def test_tune_devices_says_no_gpu_and_lists_cores_precision_and_versions(declare):
    declare("")
    # The backend not installed: nothing is imported, the rest is listed all the same.
    done = tune_process("devices", env={"KERAS_BACKEND": "torch"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "GPUs: no GPU visible (CUDA_VISIBLE_DEVICES): trials train on the CPU"
    bf16 = {"avx512_bf16", "amx_bf16"} & _cpu_flags()
    assert lines[1].startswith(f"CPU: {len(os.sched_getaffinity(0))} cores this process may use")
    assert ("bfloat16 (" in lines[1]) == bool(bf16) and ("float32 only" in lines[1]) != bool(bf16)
    assert lines[2].startswith("Keras backend: torch (KERAS_BACKEND): not installed: ")
    assert lines[2].endswith("pip install torch")
    from importlib.metadata import version

    assert f"Keras {version('keras')}, Keras Tuner {version('keras-tuner')}, Optuna {version('optuna')}" \
        in lines[3]


@pytest.mark.slow  # imports TensorFlow to ask it
def test_tune_devices_asks_the_backend_and_says_when_it_cannot_see_the_gpus(declare):
    declare("0,1")
    done = tune_process("devices", env={"KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "GPUs (CUDA_VISIBLE_DEVICES): 2" in out and "gpu 0: " in out and "gpu 1: " in out
    assert "Keras backend: tensorflow (KERAS_BACKEND): tensorflow sees 0 GPUs" in out
    assert "warning: " in out and "pip install 'tuneyard[gpu]'" in out  # tensorflow-cpu here


OOM_MODULE = '''
import numpy as np
import tuneyard


class Oom(tuneyard.Workload):
    """A tiny regressor whose 64-unit build runs out of GPU memory, as a too-large model does."""

    name, task = "oom", "regression"
    required = ("units",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((80, 4)).astype("float32")
        y = x.sum(axis=1)
        return tuneyard.Dataset(x[:50], y[:50], x[50:65], y[50:65], x[65:], y[65:],
                                info={"input_shape": (4,)})

    def build_model(self, params, dataset, options):
        import keras
        import tensorflow as tf

        if params["units"] == 64:
            raise tf.errors.ResourceExhaustedError(
                None, None, "OOM when allocating tensor with shape[64,4096] on GPU:0")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(params["units"]),
                                  keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mse"])
        return model
'''


def oom_space(folder, units: str = "[64, 8]"):
    (folder / "oom_model.py").write_text(textwrap.dedent(OOM_MODULE))
    (folder / "oom.yaml").write_text(textwrap.dedent(f"""\
        workload: oom_model:Oom
        objective: {{metric: val_mse, direction: minimize}}
        training: {{epochs: 1, batch_size: 16}}
        hyperparameters:
          units: {{type: choice, values: {units}}}
        """))
    return folder / "oom.yaml"


@pytest.mark.slow  # trains a tiny Keras model for one epoch
def test_a_trial_out_of_gpu_memory_is_recorded_fail_with_the_reason_and_the_sweep_goes_on(tmp_path, declare):
    declare("")
    oom_space(tmp_path)
    done = tune("run", "--space", tmp_path / "oom.yaml", "--backend", "grid", "--trials", "2",
                "--timeout", "5m", "--study", "oom")
    assert done.returncode == 0, done.stderr
    rows = {r["units"]: r for r in csv.DictReader(open(tmp_path / "results" / "oom" / "leaderboard.csv"))}
    assert rows["64"]["status"] == "FAIL"
    assert rows["64"]["error"].startswith("ResourceExhaustedError: OOM when allocating")
    assert rows["64"]["error"].endswith("the device ran out of memory: a smaller batch_size or model, "
                                        "or fewer trials on one GPU (--trials-per-gpu)")
    assert rows["8"]["status"] == "COMPLETE"
    assert rows["8"]["device"] == rows["64"]["device"] == "cpu"  # in this process, no GPU
    study = optuna.load_study(study_name="oom", storage=f"sqlite:///{tmp_path / 'results' / 'tuneyard.db'}")
    assert {t.user_attrs["device_used"] for t in study.trials} == {"cpu:0"}  # what Keras said


@pytest.mark.slow  # a worker process imports TensorFlow and trains a tiny model for one epoch
def test_a_gpu_given_but_not_seen_by_tensorflow_is_said_in_the_device_column(tmp_path, declare):
    # The real trainer in a real pinned worker: TensorFlow there reads CUDA_VISIBLE_DEVICES=1,
    # finds no such GPU on this machine, and trains on the CPU; the trial says both.
    declare("0,1")
    done = tune("run", "--space", oom_space(tmp_path, "[8]"), "--backend", "grid", "--trials", "1",
                "--timeout", "5m", "--study", "pinned", "--gpus", "1")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(open(tmp_path / "results" / "pinned" / "leaderboard.csv")))
    assert [(r["status"], r["device"]) for r in rows] == [
        ("COMPLETE", "gpu:1 (not visible to the Keras backend: ran on cpu:0)")]
    storage = f"sqlite:///{tmp_path / 'results' / 'tuneyard.db'}"
    study = optuna.load_study(study_name="pinned", storage=storage)
    (trial,) = study.trials
    assert int(trial.user_attrs["worker"].rsplit(":", 1)[1]) != os.getpid()  # in a worker process
