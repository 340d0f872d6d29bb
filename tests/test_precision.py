"""`--precision` (issue 21): mixed bfloat16 trains a shipped and a user's workload on this CPU
with float32 variables and a float32 output, each trial records the policy it trained in,
a user model whose output is not float32 is warned about once a sweep, and a bad policy is
one line. Real Keras, tiny: a few hundred samples, one epoch.
"""

import csv
import pickle

import numpy as np
import optuna
import pytest
from inproc import tune

from tuneyard.engine.precision import NO_BFLOAT16, resolve
from tuneyard.errors import SpaceError
from tuneyard.space.file import parse_space

CIFAR_SPACE = """\
name: tiny_resnet
workload: cifar_resnet
objective: {metric: val_accuracy, direction: maximize}
training: {epochs: 1, batch_size: 50, patience: 0, validation_split: 0.25}
fixed: {optimizer: sgd, lr_schedule: cosine, decay_epochs: 1, flip: true}
hyperparameters:
  learning_rate: {type: float, low: 0.05, high: 0.1}
  width: {type: choice, values: [4]}
  blocks: {type: choice, values: [1]}
  translate: {type: choice, values: [0.1]}
"""

# A user's workload; `float32_output: false` leaves its softmax in the policy's precision.
MODULE = '''
import numpy as np
import tuneyard


class Blobs(tuneyard.Workload):
    name = "blobs"
    task = "classification"
    required = ("units",)
    optional = ("float32_output",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, 240)
        x = (rng.standard_normal((240, 4)) + 2 * y[:, None]).astype("float32")
        return tuneyard.Dataset(x[:160], y[:160], x[160:200], y[160:200], x[200:], y[200:],
                                info={"input_shape": (4,), "num_classes": 3})

    def build_model(self, params, dataset, options):
        import keras

        out = {"dtype": "float32"} if options.get("float32_output", True) else {}
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(params["units"], activation="relu"),
                                  keras.layers.Dense(3, activation="softmax", **out)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
'''

BLOBS_SPACE = """\
name: blobs
workload: blobs_model:Blobs
objective: {metric: val_accuracy, direction: maximize}
training: {epochs: 1, batch_size: 32, patience: 0, precision: mixed_bfloat16}
fixed: {float32_output: false}
hyperparameters:
  units: {type: int, low: 4, high: 16, step: 4}
"""


def write_cifar(folder, n_train=200, n_test=40):
    """CIFAR-10's python batches, tiny: random images, every class in each."""
    rng = np.random.default_rng(0)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    per = n_train // 5
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in np.arange(n) % 10]}
        (batches / name).write_bytes(pickle.dumps(batch))


def rows_of(path):
    return list(csv.DictReader(path.open()))


def stored(results, study):
    from tuneyard.store.optuna_store import open_storage

    url = f"sqlite:///{results / 'tuneyard.db'}"
    return optuna.load_study(study_name=study, storage=open_storage(url)).get_trials()


def check_float32_model(path):
    """The kept model: float32 variables and output, its inner layers in mixed bfloat16."""
    import keras

    model = keras.saving.load_model(path)
    assert {str(w.dtype) for w in model.weights} == {"float32"}
    assert [str(o.dtype) for o in model.outputs] == ["float32"]
    inner = {layer.dtype_policy.name for layer in model.layers[:-1] if layer.weights}
    assert inner == {"mixed_bfloat16"}, inner  # the policy did apply to the layers that compute


@pytest.mark.slow
def test_the_cifar_resnet_trains_in_mixed_bfloat16_with_a_float32_output(tmp_path, results_in_tmp):
    write_cifar(tmp_path / "data")
    (tmp_path / "tiny_resnet.yaml").write_text(CIFAR_SPACE)
    done = tune("run", "--space", tmp_path / "tiny_resnet.yaml", "--data-dir", tmp_path / "data",
                "--trials", 1, "--precision", "mixed_bfloat16", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stdout  # the shipped workload's output is float32
    (row,) = rows_of(results_in_tmp / "tiny_resnet-tpe-s0" / "leaderboard.csv")
    assert row["status"] == "COMPLETE" and 0.0 <= float(row["val_accuracy"]) <= 1.0
    assert row["precision"] == "mixed_bfloat16"
    (trial,) = stored(results_in_tmp, "tiny_resnet-tpe-s0")
    assert trial.user_attrs["precision"] == "mixed_bfloat16"
    assert np.isfinite(trial.user_attrs["history"]["loss"]).all()
    check_float32_model(results_in_tmp / "tiny_resnet-tpe-s0" / "best.keras")


@pytest.mark.slow
def test_a_notebook_search_trains_mixed_and_leaves_the_global_policy_as_it_was(results_in_tmp):
    import keras

    import tuneyard

    def build_model(params):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(params["units"], activation="relu"),
                                  keras.layers.Dense(1, dtype="float32")])
        model.compile(optimizer="adam", loss="mse")
        return model

    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 4)).astype("float32")
    keras.config.set_dtype_policy("float16")  # the notebook's own choice, kept
    try:
        result = tuneyard.search(build_model, data=(x, x.sum(axis=1)), trials=2, epochs=1,
                                 progress=False, precision="mixed_bfloat16",
                                 space={"hyperparameters": {"units": {"type": "int", "low": 4,
                                                                      "high": 8}}})
        assert keras.config.dtype_policy().name == "float16"
    finally:
        keras.config.set_dtype_policy("float32")
    board = result.leaderboard
    assert list(board["status"]) == ["COMPLETE"] * 2
    assert np.isfinite(board["val_loss"]).all() and set(board["precision"]) == {"mixed_bfloat16"}
    check_float32_model(result.model_path)


@pytest.mark.slow
def test_an_output_not_in_float32_is_warned_once_a_sweep_and_trains(tmp_path, results_in_tmp):
    (tmp_path / "blobs_model.py").write_text(MODULE)
    (tmp_path / "blobs.yaml").write_text(BLOBS_SPACE)
    # Each trial's result carries the notice (as each worker process's would); the sweep says
    # it once. In this process: a worker process would only add a TensorFlow import.
    done = tune("run", "--space", tmp_path / "blobs.yaml", "--trials", 2,
                "--trials-per-process", 0, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    warned = [line for line in done.stdout.splitlines() if "not float32" in line]
    assert len(warned) == 1, done.stdout
    assert "the model's output is bfloat16" in warned[0] and 'dtype="float32"' in warned[0]
    rows = rows_of(results_in_tmp / "blobs-tpe-s0" / "leaderboard.csv")
    assert [r["status"] for r in rows] == ["COMPLETE"] * 2  # a warning, not a failure
    assert {r["precision"] for r in rows} == {"mixed_bfloat16"}  # the space's default
    assert all(np.isfinite(float(r["val_accuracy"])) for r in rows)


def test_an_unknown_precision_is_one_line(tmp_path):
    done = tune("run", "--space", "sine_lstm", "--precision", "nonsense", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line == ("error: --precision nonsense: unknown precision policy; use one of float32, "
                    "mixed, mixed_float16, mixed_bfloat16")
    assert not (tmp_path / "results").exists()
    with pytest.raises(SpaceError, match="must be one of float32, mixed"):
        parse_space(BLOBS_SPACE.replace("precision: mixed_bfloat16", "precision: half"))


def test_mixed_is_float16_on_a_gpu_bfloat16_on_a_cpu_that_has_it_else_float32_said():
    assert resolve("mixed", on_gpu=True, flags=set()) == ("mixed_float16", None)
    assert resolve("mixed", on_gpu=False, flags={"fpu", "avx512_bf16"}) == ("mixed_bfloat16", None)
    assert resolve("mixed", on_gpu=False, flags={"amx_bf16"}) == ("mixed_bfloat16", None)
    assert resolve("mixed", on_gpu=False, flags={"avx2"}) == ("float32", NO_BFLOAT16)
    assert resolve("mixed_float16", on_gpu=False, flags=set()) == ("mixed_float16", None)  # as asked
