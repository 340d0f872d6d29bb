"""Bad input to the Keras Tuner backends through `tune run`: one clear line, exit code 2."""

import pytest
from cheap import SPACE
from typer.testing import CliRunner

from tuneyard.cli.main import app

MIXED_CHOICE = SPACE.replace("values: [adam, sgd, rmsprop]", "values: [adam, 1, 0.5]")


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def tune(*args):
    result = CliRunner().invoke(app, ["run", *args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, lines


@pytest.mark.parametrize("flag,value,message", [
    ("--factor", "1", "error: --factor must be an integer of at least 2, got 1"),
    ("--max-epochs", "0", "error: --max-epochs must be an integer of at least 1, got 0"),
])
@pytest.mark.slow
def test_bad_hyperband_settings(space_path, flag, value, message):
    code, lines = tune("--space", space_path, "--backend", "hyperband", flag, value)
    assert code == 2 and lines == [message]


@pytest.mark.parametrize("backend", ["random", "hyperband", "bayes"])
def test_a_space_keras_tuner_cannot_express(tmp_path, backend):
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED_CHOICE)
    code, lines = tune("--space", str(path), "--backend", backend)
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: space cheap: Keras Tuner cannot express choice 'optimizer'")


def test_an_unknown_backend_lists_the_keras_tuner_ones(space_path):
    code, lines = tune("--space", space_path, "--backend", "nope")
    assert code == 2 and len(lines) == 1 and "random, hyperband, bayes" in lines[0]
