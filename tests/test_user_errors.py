"""A trial that fails in the user's code is reported at the user's line, with the exception
and, for the usual mistakes, what to do; and a sweep's console holds no TensorFlow
retracing warnings. Real Keras on a tiny task, `tune` in this process (tests/inproc.py),
one sweep shared by the module.
"""

import json
import logging
import textwrap

import numpy as np
import pytest
from inproc import tune

import tuneyard
from tuneyard.errors import TuneyardError

MODULE = '''
import numpy as np
import tuneyard


class Mistakes(tuneyard.Workload):
    """Three Gaussian blobs; `mistake` picks what build_model gets wrong."""

    name = "mistakes"
    task = "classification"
    required = ("mistake",)
    optional = ("extra",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, 120)
        x = (rng.standard_normal((120, 4)) + 2 * y[:, None]).astype("float32")
        return tuneyard.Dataset(x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:],
                                info={"input_shape": (4,), "num_classes": 3})

    def build_model(self, params, dataset, options):  # BUILD
        import keras

        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        if params["mistake"] == "unknown_param":
            rate = params["lr"]  # UNKNOWN
        if params["mistake"] == "inactive_param":
            rate = params["extra"]  # INACTIVE
        if params["mistake"] == "no_compile":
            return model
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        if params["mistake"] == "returns_none":
            model = None
        return model
'''

SPACE = """\
name: mistakes
workload: mistakes_model:Mistakes
objective: {metric: val_accuracy, direction: maximize}
training: {epochs: 1, batch_size: 16, patience: 0}
hyperparameters:
  mistake:
    type: choice
    values: [fine_a, fine_b, fine_c, unknown_param, no_compile, returns_none, inactive_param]
  extra: {type: int, low: 1, high: 2, grid: [1], when: {mistake: [fine_a]}}
"""

FUNCTION = '''
import keras


def build(params):  # BUILD
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(params["units"]),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(params["lr"]),  # UNKNOWN
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''


def line_of(text: str, marker: str) -> int:
    """The line number of `marker` in a module's text (as written to its file)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if f"# {marker}" in line)


class Records(logging.Handler):
    """Every record TensorFlow's logger lets through."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The sweep over every mistake: (the `tune run` result, its trials' errors by mistake,
    the messages TensorFlow's logger let through during it)."""
    folder = tmp_path_factory.mktemp("mine")
    (folder / "mistakes_model.py").write_text(MODULE)
    (folder / "mistakes.yaml").write_text(SPACE)
    env = {"TUNEYARD_RESULTS_DIR": str(folder / "results")}
    records = Records()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(records)
    try:
        ran = tune("run", "--space", "mistakes.yaml", "--backend", "grid", cwd=folder, env=env)
    finally:
        logger.removeHandler(records)
    board = tune("leaderboard", "mistakes-grid-s0", "--json", cwd=folder, env=env)
    rows = json.loads(board.stdout)
    return ran, {r["mistake"]: r for r in rows}, records.messages


@pytest.mark.slow
def test_a_parameter_the_space_does_not_define_names_the_users_line_and_the_space(swept):
    _, rows, _ = swept
    error = rows["unknown_param"]["error"]
    assert error.startswith("KeyError: 'lr'")
    assert "the space defines no parameter 'lr' (its parameters: mistake, extra)" in error
    assert error.endswith(f"(at mistakes_model.py:{line_of(MODULE, 'UNKNOWN')})")


@pytest.mark.slow
def test_a_conditional_parameter_read_where_it_does_not_exist_says_when_it_does(swept):
    error = swept[1]["inactive_param"]["error"]
    assert error.startswith("KeyError: 'extra'; 'extra' exists only when mistake is fine_a")
    assert error.endswith(f"(at mistakes_model.py:{line_of(MODULE, 'INACTIVE')})")


@pytest.mark.slow
@pytest.mark.parametrize("mistake, says", [
    ("no_compile", "ValueError: the model build_model returned was never compiled; call "
                   "model.compile(optimizer=..., loss=..., metrics=[...]) in build_model before "
                   "returning it"),
    ("returns_none", "TypeError: build_model returned None, not a Keras model; end it with "
                     "`return model`"),
])
def test_a_model_that_cannot_train_says_what_to_do_at_the_build_function(swept, mistake, says):
    error = swept[1][mistake]["error"]
    assert error == f"{says} (at mistakes_model.py:{line_of(MODULE, 'BUILD')})"
    assert "trainer.py" not in error and "training.py" not in error


@pytest.mark.slow
def test_the_console_line_of_a_failed_trial_carries_the_whole_advice(swept):
    ran, rows, _ = swept
    assert ran.returncode == 0, ran.stderr
    for mistake in ("unknown_param", "no_compile", "returns_none"):
        line = next(x for x in ran.stdout.splitlines()
                    if x.startswith(f"trial {rows[mistake]['trial']} done: fail"))
        assert rows[mistake]["error"] in line


@pytest.mark.slow
def test_a_sweep_shows_no_tensorflow_retracing_warning(swept):
    ran, rows, messages = swept
    assert sum(r["status"] == "COMPLETE" for r in rows.values()) == 3
    assert not [m for m in messages if "retracing" in m]
    assert "retracing" not in ran.stdout + ran.stderr


@pytest.mark.slow
def test_a_search_function_reading_an_unknown_parameter_points_at_its_own_line(tmp_path,
                                                                              monkeypatch):
    (tmp_path / "my_build.py").write_text(textwrap.dedent(FUNCTION))
    monkeypatch.syspath_prepend(str(tmp_path))
    from my_build import build

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    x = (rng.standard_normal((60, 4)) + 2 * y[:, None]).astype("float32")
    with pytest.raises(TuneyardError) as caught:
        tuneyard.search(build, data=(x, y), trials=1, progress=False, space={
            "hyperparameters": {"units": {"type": "int", "low": 4, "high": 8}},
            "objective": {"metric": "val_accuracy", "direction": "maximize"},
            "training": {"epochs": 1, "batch_size": 16}})
    text = str(caught.value)
    assert "KeyError: 'lr'; the space defines no parameter 'lr' (its parameters: units)" in text
    assert f"(at my_build.py:{line_of(FUNCTION, 'UNKNOWN')})" in text
