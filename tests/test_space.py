"""Loading search spaces: the shipped ones, a user's own, and every kind of broken file."""

from pathlib import Path

import pytest

from tuneyard.errors import SpaceError
from tuneyard.space.file import available_spaces, load_space, parse_space
from tuneyard.space.grid_points import Grid, grid_size

GOOD = """\
name: tiny
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 2, batch_size: 16}
fixed: {window: 20}
hyperparameters:
  learning_rate: {type: float, low: 1e-4, high: 1.0e-2, log: true, grid: [1.0e-4, 1.0e-2]}
  optimizer: {type: choice, values: [adam, sgd]}
  lstm_layers: {type: int, low: 1, high: 2}
  units: {type: int, low: 32, high: 64, step: 32, when: {lstm_layers: [2]}}
"""


def test_shipped_spaces_load_with_their_objectives():
    spaces = available_spaces()
    assert {"mnist_mlp", "cifar_cnn", "sine_lstm"} <= set(spaces)
    mnist, cifar, sine = (load_space(n) for n in ("mnist_mlp", "cifar_cnn", "sine_lstm"))
    assert (mnist.metric, mnist.direction) == ("val_accuracy", "maximize")
    assert (cifar.metric, cifar.direction) == ("val_accuracy", "maximize")
    assert sine.direction == "minimize" and sine.fixed["window"] == 20
    # mnist_mlp is tuned as a practitioner would (tests/test_mnist_space.py); the course's knobs
    # and ranges stay on the other two.
    for space in (cifar, sine):
        lr = space.param("learning_rate")
        assert (lr.low, lr.high, lr.log) == (1e-4, 1e-2, True)
        assert space.param("optimizer").values == ("sgd", "rmsprop", "adam", "adamw")
        assert (space.param("dropout").low, space.param("dropout").high) == (0.0, 0.5)
        assert space.param("l2").log


def test_per_layer_units_exist_only_when_the_layer_does():
    space = load_space("course_mnist_mlp")
    assert space.param("units_3").parent == "num_layers"
    assert [p.name for p in space.active_params({"num_layers": 1})][:2] == ["num_layers", "units_1"]
    assert "units_3" in [p.name for p in space.active_params({"num_layers": 3})]
    assert space.check_values({"learning_rate": 1e-3, "num_layers": 1, "units_1": 64,
                               "units_2": 64}) == ["units_2 given but inactive"]
    shipped = load_space("mnist_mlp")
    assert shipped.param("units_3").parent == "num_layers"
    assert "units_3" not in [p.name for p in shipped.active_params({"num_layers": 2})]


def test_a_float_written_1e_4_is_read_as_a_number():
    space = parse_space(GOOD)
    assert space.param("learning_rate").low == pytest.approx(1e-4)


def test_grid_size_counts_conditionals_exactly():
    space = parse_space(GOOD)
    # lr 2 x optimizer 2 x (1 layer: 1 + 2 layers: 2 units values) = 12
    assert grid_size(space) == 12
    points = [Grid(space).point(i) for i in range(12)]
    assert len({repr(sorted(p.items())) for p in points}) == 12
    assert all(space.check_values(p) == [] for p in points)


def test_a_users_own_space_by_path_and_by_folder(tmp_path, monkeypatch):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace("name: tiny", "name: mine"))
    assert load_space(str(path)).name == "mine"
    monkeypatch.setenv("TUNEYARD_SPACES_DIR", str(tmp_path))
    assert "mine" in available_spaces()
    assert load_space("mine").path == str(path)


def test_unknown_space_lists_the_valid_ones():
    with pytest.raises(SpaceError, match="unknown space 'nope'.*mnist_mlp"):
        load_space("nope")


BROKEN = [
    # (replace this, with this, message must contain)
    ("direction: minimize", "direction: lower", "objective.direction: must be maximize or minimize"),
    ("metric: val_mse", "metric: mse", "objective.metric"),
    ("workload: sine_lstm", "workload: imagenet", "workload: unknown workload 'imagenet'"),
    ("type: choice", "type: category", "hyperparameters.optimizer.type"),
    ("low: 1e-4", "low: 0", "learning_rate.low: must be > 0 when log: true"),
    ("high: 2}", "high: 0}", "lstm_layers.high: must be greater than low"),
    ("low: 32, high: 64", "low: 32, high: 70", "high - low must be a multiple of step"),
    ("step: 32", "step: -32", "units.step: must be a positive integer"),
    ("values: [adam, sgd]", "values: []", "optimizer.values: a choice needs a non-empty list"),
    ("values: [adam, sgd]", "values: [adam, adam]", "values must not repeat"),
    ("grid: [1.0e-4, 1.0e-2]", "grid: [1.0e-4, 0.5]", "learning_rate.grid: value 0.5 is outside"),
    ("when: {lstm_layers: [2]}", "when: {depth: [2]}", "parent 'depth' must be a hyperparameter"),
    ("when: {lstm_layers: [2]}", "when: {lstm_layers: [7]}", "values [7] are not values"),
    ("log: true,", "log: maybe,", "learning_rate.log: must be true or false"),
    ("type: int, low: 1", "type: int, lo: 1", "lstm_layers.lo: unknown key"),
    ("batch_size: 16", "batch_size: 0", "training.batch_size: must be an integer >= 1"),
    ("epochs: 2", "epocs: 2", "training.epocs: unknown setting"),
    ("fixed: {window: 20}", "fixd: {window: 20}", "fixd: unknown key"),
]


@pytest.mark.parametrize("old,new,message", BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_a_broken_file_names_its_path_line_field_and_rule(tmp_path, old, new, message):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(SpaceError) as caught:
        load_space(str(path))
    error = str(caught.value)
    assert message in error
    line = next(i for i, text_line in enumerate(text.splitlines(), 1) if new in text_line)
    assert error.startswith(f"{path}:{line}:"), error
    assert "\n" not in error


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("optimizer: {type: choice", "optimizer: {type: [choice"))
    with pytest.raises(SpaceError, match=rf"{path}:\d+: malformed YAML"):
        load_space(str(path))


def test_missing_hyperparameters_and_non_mapping_files(tmp_path):
    with pytest.raises(SpaceError, match="hyperparameters: required"):
        parse_space(GOOD.split("hyperparameters:")[0])
    with pytest.raises(SpaceError, match="must be a mapping"):
        parse_space("- just\n- a list\n")
    with pytest.raises(SpaceError, match="does not exist"):
        load_space(str(Path(tmp_path) / "absent.yaml"))


def test_grid_backend_needs_a_grid_list_for_floats():
    space = parse_space(GOOD.replace(", grid: [1.0e-4, 1.0e-2]", ""))
    with pytest.raises(SpaceError, match="float hyperparameter 'learning_rate' has no grid"):
        grid_size(space)


def test_fingerprint_changes_with_the_space_but_not_with_comments():
    base = parse_space(GOOD).fingerprint()
    assert parse_space("# a comment\n" + GOOD).fingerprint() == base
    assert parse_space(GOOD.replace("high: 2}", "high: 3}")).fingerprint() != base
