"""Issue 22 item 1, your fit: a workload's (or `tuneyard.search`'s) callbacks, class_weight,
sample weights and pipelines reach `fit`; what tuneyard can check is one line.

The checks run on arrays, without TensorFlow. Tests marked slow import it: the pipeline
rules on a real tf.data.Dataset and keras.utils.PyDataset, and two tiny real fits (1 epoch)
proving a tf.data pipeline (through `tune run`) and a PyDataset (through `tuneyard.search`)
train with the user's callbacks and class_weight. `tune` runs in this process (tests/inproc.py).
"""

import json
import threading

import numpy as np
import optuna
import pytest
from inproc import tune

import tuneyard
from tuneyard.engine.fit_arguments import fit_data, user_fit_options
from tuneyard.engine.user_errors import BuildMistake
from tuneyard.errors import ArgumentError, DataError
from tuneyard.space.data import load_space_data
from tuneyard.space.file import load_space
from tuneyard.workloads.base import Dataset
from tuneyard.workloads.checks import check_dataset, check_subset_honoured
from tuneyard.workloads.function import FunctionWorkload

MODULE = '''
import json
import os

import numpy as np
import tuneyard


def arrays(seed=0, n=240):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return (rng.standard_normal((n, 4)) + 2 * y[:, None]).astype("float32"), y


class Deaf(tuneyard.Workload):
    """Ignores subset: always 160 train, 40 validation, 40 test."""

    name, task, required = "deaf", "classification", ("units",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        x, y = arrays(seed)
        return tuneyard.Dataset(x[:160], y[:160], x[160:200], y[160:200], x[200:], y[200:],
                                info={"input_shape": (4,), "num_classes": 2})

    def build_model(self, params, dataset, options):
        raise AssertionError("never trained: the data is refused first")


class Piped(tuneyard.Workload):
    """tf.data pipelines; its fit adds a callback that logs each epoch and class_weight."""

    name, task, required = "piped", "classification", ("units",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        import tensorflow as tf

        x, y = arrays(seed)
        part = lambda a, b: tf.data.Dataset.from_tensor_slices((x[a:b], y[a:b])).batch(32)
        return tuneyard.Dataset(part(0, 160), None, part(160, 200), None, part(200, 240), None,
                                info={"input_shape": (4,), "num_classes": 2,
                                      "class_names": ["a", "b"]})

    def build_model(self, params, dataset, options):
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(params["units"]),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    def fit_options(self, params, dataset):
        import keras

        class Log(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                with open(os.environ["FIT_LOG"], "a") as out:
                    out.write(json.dumps({"id": id(self), "loss": logs["loss"],
                                          "val_loss": logs["val_loss"]}) + "\\n")

        return {"callbacks": [Log()], "class_weight": {0: 0.0, 1: 0.0}}
'''

SPACE = """\
name: {name}
workload: mine:{cls}
objective: {{metric: val_accuracy, direction: maximize}}
training: {{epochs: 1, batch_size: 32, patience: 0, validation_split: 0.2}}
hyperparameters:
  units: {{type: int, low: 4, high: 8, step: 4, grid: [4, 8]}}
{extra}"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The user's folder, one for the file: its module `mine` is imported from one path."""
    here = tmp_path_factory.mktemp("your_fit")
    (here / "mine.py").write_text(MODULE)
    for name, cls, extra in (("deaf", "Deaf", ""), ("piped", "Piped", ""),
                             ("piped_batch", "Piped", "  batch_size: {type: choice, values: [16, 32]}\n")):
        (here / f"{name}.yaml").write_text(SPACE.format(name=name, cls=cls, extra=extra))
    return here


@pytest.fixture
def project(folder, results_in_tmp):
    return folder, results_in_tmp


def one_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr
    return lines[0]


def no_study(results) -> bool:
    db = results / "tuneyard.db"
    return not db.exists() or optuna.get_all_study_names(f"sqlite:///{db}") == []


def dataset(**parts) -> Dataset:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.standard_normal((50, 3)), "y_train": np.arange(50) % 3,
              "x_val": rng.standard_normal((10, 3)), "y_val": np.arange(10) % 3,
              "x_test": rng.standard_normal((10, 3)), "y_test": np.arange(10) % 3}
    info = parts.pop("info", {"num_classes": 3})
    return Dataset(**{**arrays, **parts}, info=info)


# --- what tuneyard checks, on arrays ----------------------------------------------------------

@pytest.mark.parametrize("subset,expected", [
    (50, "workload mine:Deaf: load() ignored subset=50: x_train has 160 samples; draw `subset`"),
    (5000, "workload mine:Deaf: subset=5000 is more than the 240 samples load() returned in all "
           "(train, validation and test); use a subset of at most 200, or no subset"),
])
def test_a_load_that_ignores_subset_is_refused(project, subset, expected):
    folder, _ = project  # the loader every command uses (run, evaluate, compare, race)
    with pytest.raises(DataError) as error:
        load_space_data(load_space(str(folder / "deaf.yaml")), subset=subset, check_backend=False)
    assert str(error.value).startswith(expected)


def test_a_subset_that_was_drawn_passes():
    check_subset_honoured(dataset(), 60, "w")  # train 50 + validation 10: the pool of 60
    check_subset_honoured(dataset(), 50, "w")  # validation kept whole: still honoured
    check_subset_honoured(dataset(), None, "w")
    two_inputs = [np.ones((50, 2)), np.ones((50, 1))]
    with pytest.raises(DataError, match="ignored subset=20: x_train has 50 samples"):
        check_subset_honoured(dataset(x_train=two_inputs), 20, "w")


@pytest.mark.parametrize("parts,expected", [
    ({"y_train": np.r_[np.zeros(49, int), 3], "info": {"class_names": ["a", "b", "c"]}},
     "y_train[49] is 3; labels must be integers in 0..2"),
    ({"y_val": np.r_[np.zeros(9), 0.5], "info": {}}, "y_val[9] is 0.5; labels must be integers 0 or more"),
    ({"x_train": [np.ones((50, 2)), np.where(np.eye(50, 1) > 0, np.inf, 0.0)]},
     "x_train[1][0, 0] is inf; features must be finite"),
    ({"x_val": {"a": np.ones((10, 2)), "b": np.full((10, 1), np.nan)}},
     "x_val['b'][0, 0] is nan; features must be finite"),
    ({"w_train": np.ones(49)}, "w_train has shape (49,) (float64); sample weights are one number "
                               "per sample, shape (50,)"),
    ({"w_train": np.r_[np.ones(49), -1.0]}, "w_train[49] is -1.0; sample weights must be finite"),
    ({"w_val": np.r_[np.nan, np.ones(9)]}, "w_val[0] is nan; sample weights must be finite"),
])
def test_labels_features_and_weights_are_one_line(parts, expected):
    with pytest.raises(DataError) as error:
        check_dataset(dataset(**parts), "mine:W", "classification")
    assert str(error.value).startswith("workload mine:W: ") and expected in str(error.value)
    assert "\n" not in str(error.value)


def test_fit_gets_arrays_with_their_weights_and_a_pipeline_as_given():
    data = dataset(w_train=np.full(50, 2.0), w_val=np.full(10, 0.5))
    args = fit_data(data, 16)
    assert args["batch_size"] == 16 and args["x"] is data.x_train and args["y"] is data.y_train
    assert args["sample_weight"] is data.w_train
    assert [a is b for a, b in zip(args["validation_data"], (data.x_val, data.y_val, data.w_val),
                                   strict=True)] == [True] * 3
    assert "sample_weight" not in fit_data(dataset(), 16)


class Fits(tuneyard.Workload):
    """A workload whose fit_options returns what the test hands it."""

    def __init__(self, options):
        self.options = options

    def load(self, **kwargs):
        raise AssertionError

    def build_model(self, params, dataset, options):
        raise AssertionError

    def fit_options(self, params, dataset):
        return self.options


@pytest.mark.parametrize("options,expected", [
    ({"epochs": 3}, "fit_options() gave 'epochs', which tuneyard sets from the space's "
                    "training.epochs; remove it"),
    ({"sample_weight": np.ones(50)}, "gave 'sample_weight', which tuneyard sets from the "
                                     "Dataset's w_train"),
    ({"validation_freq": 2}, "which tuneyard sets from tuneyard (every epoch is judged)"),
    ({"max_queue_size": 2}, "gave 'max_queue_size', which tuneyard does not pass to fit; it may "
                            "give callbacks, class_weight, steps_per_epoch, validation_steps, shuffle"),
    ([1], "fit_options() returned a list; return a dict"),
    ({"class_weight": {0: 1.0, 3: 2.0}}, "class_weight key 3 is not a class: the data has classes 0..2"),
    ({"class_weight": {0: -1.0}}, "class_weight weight of class 0 is -1.0; weights must be finite"),
    ({"class_weight": [1.0, 2.0]}, "class_weight must be a dict {class index: weight}, got list"),
])
def test_fit_options_a_fit_cannot_take_are_the_trials_error_at_the_users_line(options, expected):
    with pytest.raises(BuildMistake) as error:
        user_fit_options(Fits(options), {}, dataset())
    assert expected in str(error.value)
    assert error.value.where.startswith(" (at test_your_fit.py:")  # the user's fit_options


def test_a_workload_without_fit_options_gives_fit_nothing_more():
    assert user_fit_options(Fits(None), {}, dataset()) == {"callbacks": []}
    made = user_fit_options(Fits({"class_weight": {0: 1, 1: 2.5, 2: 0}, "shuffle": False}), {},
                            dataset())
    assert made == {"class_weight": {0: 1, 1: 2.5, 2: 0}, "shuffle": False, "callbacks": []}


def test_search_sample_weights_follow_the_subset_and_the_split():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 3)).astype("float32")
    y = np.arange(200) % 2
    made = FunctionWorkload(lambda p: None, (x, y, x[:, 0] + 10), task="classification")
    data = made.load(subset=120, seed=3, validation_split=0.25)
    assert len(data.y_train) == 90 and len(data.y_val) == 30
    np.testing.assert_array_equal(data.w_train, data.x_train[:, 0] + 10)  # each row its weight
    np.testing.assert_array_equal(data.w_val, data.x_val[:, 0] + 10)


class Locked:
    """A callback-like object holding a lock: it cannot be deep-copied."""

    def __init__(self):
        self.lock = threading.Lock()


@pytest.mark.parametrize("kwargs,expected", [
    ({"class_weight": {0: 1.0, 2: 1.0}}, "class_weight key 2 is not a class: the data has classes 0..1"),
    ({"class_weight": {0: 1.0}, "task": "regression"}, "class_weight: the task is regression"),
    ({"callbacks": {"a": 1}}, "callbacks must be a list of keras.callbacks.Callback or a function "
                              "params -> list, got dict"),
    ({"callbacks": [Locked()]}, "callbacks: Locked cannot be copied for each trial (TypeError: "),
    ({"data": (np.zeros((10, 2)), np.arange(10) % 2, np.ones(9))},
     "data: sample_weight has shape (9,); give one weight per sample, shape (10,)"),
    ({"data": {"train": (np.zeros((10, 2)), np.arange(10) % 2),
               "test": (np.zeros((4, 2)), np.arange(4) % 2, np.ones(4))}},
     "data['test']: test scores are not weighted; give an (x, y) pair"),
])
def test_search_refuses_what_no_fit_can_take_naming_the_argument(results_in_tmp, kwargs, expected):
    given = {"data": (np.zeros((10, 2), "float32"), np.arange(10) % 2), **kwargs}
    with pytest.raises(ArgumentError) as error:
        tuneyard.search(lambda params: None, space={
            "hyperparameters": {"u": {"type": "int", "low": 1, "high": 2}}}, **given)
    assert isinstance(error.value, ValueError) and expected in str(error.value)
    assert no_study(results_in_tmp)


def test_a_workload_object_gives_its_callbacks_from_fit_options(results_in_tmp):
    with pytest.raises(ArgumentError, match=r"^callbacks: a workload object gives its own from "
                                            r"its fit_options\(params, dataset\) method"):
        tuneyard.search(workload=Fits({}), callbacks=[], space={
            "hyperparameters": {"u": {"type": "int", "low": 1, "high": 2}}})


# --- pipelines: real tf.data and PyDataset (imports TensorFlow, trains nothing) ---------------

@pytest.mark.slow
def test_pipeline_rules_are_one_line(project):
    import keras
    import tensorflow as tf

    x, y = np.ones((8, 3), "float32"), np.arange(8) % 3
    piped = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

    cases = [
        ({"x_train": piped}, "x_train is a tf.data.Dataset, which yields its own labels; make "
                             "y_train None (yield (x, y) or (x, y, sample_weight))"),
        ({"x_val": Batches(), "y_val": None, "w_val": np.ones(8)},
         "x_val is a keras.utils.PyDataset: its sample weights are the third element it yields"),
        ({"x_train": (b for b in [x]), "y_train": None}, "x_train is a Python iterator, which one "
                                                        "fit uses up"),
        ({"x_val": None, "y_val": None}, "x_val is None; every trial is judged on validation data"),
    ]
    for parts, expected in cases:
        with pytest.raises(DataError) as error:
            check_dataset(dataset(**parts), "w", "classification")
        assert expected in str(error.value), parts
    fine = dataset(x_train=piped, y_train=None, x_val=Batches(), y_val=None, x_test=None,
                   y_test=None)
    check_dataset(fine, "w", "classification")
    check_subset_honoured(fine, 10, "w")  # a pipeline is not counted: load()'s to honour
    assert fit_data(fine, 32) == {"x": piped, "batch_size": None, "shuffle": False,
                                  "validation_data": fine.x_val}
    # a search's pipeline: no split, no subset, no guessing the task; each said naming it
    space = {"hyperparameters": {"u": {"type": "int", "low": 1, "high": 2}}}
    for kwargs, expected in [
        ({"data": piped, "task": "classification"}, "data: a tf.data.Dataset cannot be split"),
        ({"data": {"train": Batches(), "validation": piped}}, "task: the training data is a "
                                                              "keras.utils.PyDataset"),
        ({"data": {"train": piped, "validation": piped}, "task": "classification", "subset": 5},
         "subset: the training data is a tf.data.Dataset, which tuneyard cannot sample"),
        ({"data": (x, y), "callbacks": [object()]}, "callbacks hold"),
    ]:
        with pytest.raises(ArgumentError, match=expected.replace("(", r"\(")):
            tuneyard.search(lambda params: None, space=space, **kwargs)
    folder, results = project
    done = tune("run", "--space", "piped_batch.yaml", "--backend", "grid", cwd=folder)
    assert ("workload mine:Piped: batch_size is searched but x_train is a tf.data.Dataset, "
            "which brings its own batches") in one_line(done)
    done = tune("run", "--space", "deaf.yaml", "--backend", "grid", "--subset", 50, cwd=folder)
    assert "workload mine:Deaf: load() ignored subset=50" in one_line(done)  # exit 2, one line
    assert no_study(results)


# --- two real fits ----------------------------------------------------------------------------

@pytest.mark.slow
def test_a_tf_data_workload_trains_with_its_callbacks_and_class_weight(project, tmp_path):
    folder, results = project
    log = tmp_path / "fit.jsonl"
    done = tune("run", "--space", "piped.yaml", "--backend", "tpe", "--trials", 2, "--prune",
                "median", cwd=folder, env={"FIT_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="piped-tpe-s0",
                              storage=f"sqlite:///{results / 'tuneyard.db'}")
    # tuneyard's own callbacks ran beside the user's: the pruner heard each trial's epoch
    assert [list(t.intermediate_values) for t in study.trials] == [[0], [0]]
    epochs = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(epochs) == 2 and epochs[0]["id"] != epochs[1]["id"]  # a new callback per trial
    # class_weight {0: 0, 1: 0} reached fit: every sample's loss weighs nothing in training,
    # while validation (unweighted) has a cross-entropy above zero
    assert [e["loss"] for e in epochs] == [0.0, 0.0]
    assert all(e["val_loss"] > 0 for e in epochs)
    ok = tune("evaluate", "piped-tpe-s0", cwd=folder)  # the test pipeline, run once, scored
    assert ok.returncode == 0 and "40 samples" in ok.stdout, (ok.stdout, ok.stderr)


@pytest.mark.slow
def test_search_trains_a_py_dataset_with_copied_callbacks_and_class_weight(results_in_tmp):
    import keras

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = (rng.standard_normal((200, 3)) + y[:, None]).astype("float32")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return x[32 * i:32 * i + 32], y[32 * i:32 * i + 32]

    class Record(keras.callbacks.Callback):
        losses: list = []  # shared by the copies: each trial's copy adds its epoch's loss

        def on_epoch_end(self, epoch, logs=None):
            Record.losses.append((id(self), logs["loss"]))

    def build_model(params):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(params["units"]),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    given = Record()
    result = tuneyard.search(build_model, data={"train": Batches(), "validation": (x[160:], y[160:])},
                             task="classification", trials=2, progress=False, backend="random",
                             callbacks=[given], class_weight={0: 0.0, 1: 0.0},
                             space={"hyperparameters": {"units": {"type": "int", "low": 2,
                                                                  "high": 8}},
                                    "training": {"epochs": 1}})
    assert list(result.leaderboard["status"]) == ["COMPLETE"] * 2
    assert result.leaderboard["val_loss"].min() > 0
    assert [loss for _, loss in Record.losses] == [0.0, 0.0]  # class_weight reached fit
    ids = {i for i, _ in Record.losses}
    assert len(ids) == 2 and id(given) not in ids  # a copy per trial, the given one untouched
