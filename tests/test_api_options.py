"""`tuneyard.search` takes every `tune run` option with its default, names its own arguments
in errors, and names a dict space's study after the file that defines the build function.
No TensorFlow: everything here is refused or named before a trial trains."""

import importlib.util
import inspect
import logging
import re
import sys
from enum import Enum

import numpy as np
import pytest

import tuneyard
import tuneyard.cli.main as cli
from tuneyard import quiet_import
from tuneyard.api import API_ONLY
from tuneyard.api.naming import default_name
from tuneyard.api.result import SearchResult
from tuneyard.errors import TuneyardError
from tuneyard.workloads.function import FunctionWorkload

# `tune run` options `search` does not take, each with why. None today: every option of the
# command has an argument (the ones that need other processes refuse a function given here,
# and work with a workload the space names).
CLI_ONLY: dict[str, str] = {}
# Defaults that differ, each with why.
OTHER_DEFAULTS = {
    # A function or object given to search lives in this process, which no other process
    # can import: None means 0 (trials here) for those, and tune run's 10 otherwise.
    "trials_per_process": None,
}


def run_options() -> dict:
    """`tune run`'s options and defaults, read from the command's own signature."""
    params = inspect.signature(cli.run).parameters
    return {n: (p.default.value if isinstance(p.default, Enum) else p.default)
            for n, p in params.items()}


def test_search_takes_every_tune_run_option_with_its_default():
    ours = inspect.signature(tuneyard.search).parameters
    theirs = run_options()
    assert len(theirs) > 25  # the command's options were really read
    missing = [n for n in theirs if n not in ours and n not in CLI_ONLY]
    assert missing == []
    extra = [n for n in ours if n not in theirs and n not in API_ONLY]
    assert extra == []
    for name, default in theirs.items():
        if name in CLI_ONLY or name == "space":
            continue
        expected = OTHER_DEFAULTS.get(name, default)
        assert ours[name].default == expected, name
        assert ours[name].kind == inspect.Parameter.KEYWORD_ONLY, name
    undocumented = [n for n in ours if f"`{n}`" not in tuneyard.search.__doc__]
    assert undocumented == []


def nothing(params):
    return None


DATA = (np.zeros((8, 2), "float32"), np.zeros(8, "int64"))
SPACE = {"hyperparameters": {"units": {"type": "int", "low": 2, "high": 8}}}


@pytest.mark.parametrize("given, says", [
    ({"trials": 0}, "trials must be at least 1, got 0"),
    ({"max_failures": 0}, "max_failures must be at least 1"),
    ({"timeout": "soon"}, "timeout must be a positive duration"),
    ({"trial_timeout": "-1"}, "trial_timeout must be a positive duration"),
    ({"precision": "half"}, "precision='half': unknown precision policy"),
    # (Hyperband's max_epochs and factor are worded the same way, by errors.named; checking
    # them here would import Keras Tuner, and TensorFlow with it.)
    ({"backend": "grid", "prune": "median"}, "prune='median' works with the Optuna strategies"),
    ({"workers": 2}, "workers=2 runs trials in other processes"),
    ({"trials_per_process": 5}, "trials_per_process=5 runs trials in a worker process"),
    ({"gpus": "0"}, "gpus='0' picks a GPU for each worker process"),
    ({"executor": "ray"}, "executor='ray' runs trials as Ray actors"),
    ({"address": "auto"}, "runs trials as Ray actors"),
])
def test_errors_name_the_api_argument_not_a_cli_flag(given, says):
    with pytest.raises(TuneyardError) as caught:
        tuneyard.search(nothing, DATA, space=SPACE, progress=False, **given)
    text = str(caught.value)
    assert says in text
    assert not re.search(r"(^|\s)--[a-z]", text), text  # no CLI flag anywhere in it


def test_the_same_refusals_keep_the_cli_words():
    from tuneyard.engine.options import SweepOptions

    with pytest.raises(TuneyardError, match="--max-failures must be at least 1"):
        SweepOptions(space="x", max_failures=0)
    with pytest.raises(TuneyardError, match="--trial-timeout must be a positive duration"):
        SweepOptions(space="x", trial_timeout="-1")


def load_script(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_scripts_of_one_folder_get_two_studies_and_each_its_own_again(tmp_path):
    for stem in ("wine", "cancer"):
        (tmp_path / f"{stem}.py").write_text("def build_model(params):\n    return None\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "wine.py").write_text("def build_model(params):\n    return None\n")
    wine = load_script(tmp_path / "wine.py", "wine_a")
    cancer = load_script(tmp_path / "cancer.py", "cancer_a")
    elsewhere = load_script(tmp_path / "other" / "wine.py", "wine_b")
    names = {default_name(m.build_model, "build_model") for m in (wine, cancer, elsewhere)}
    assert len(names) == 3
    assert re.fullmatch(r"build_model-wine-[0-9a-f]{4}", default_name(wine.build_model, "build_model"))
    # The script run again (a new process: a new module object) resumes its own study.
    again = load_script(tmp_path / "wine.py", "wine_c")
    assert default_name(again.build_model, "build_model") == default_name(wine.build_model,
                                                                           "build_model")


def test_evaluate_without_a_test_split_says_how_to_give_one():
    workload = FunctionWorkload(nothing, DATA)
    result = SearchResult(study="s", leaderboard=None, best_params=None, best_value=None,
                          model_path=None, workload=workload, workload_name="python:nothing")
    with pytest.raises(tuneyard.api.ArgumentError, match=r"evaluate\(test=\(x_test, y_test\)\)"):
        result.evaluate()
    with pytest.raises(tuneyard.api.ArgumentError, match="x_test has 3 samples and y_test 2"):
        result.evaluate(test=(np.zeros((3, 2)), np.zeros(2)))


def test_a_search_leaves_the_import_system_and_logging_as_they_were(monkeypatch):
    # As a user's program has them (importing tuneyard.cli.main above installed the
    # command's own hook in this test process).
    logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path
                                           if type(f).__name__ != "_QuietFinder"])
    monkeypatch.setattr(logger, "filters", [])
    finders = list(sys.meta_path)
    with quiet_import.quieted():
        assert len(sys.meta_path) == len(finders) + ("tensorflow" not in sys.modules)
        assert len(logger.filters) == 1  # TensorFlow's retracing warning dropped
    assert sys.meta_path == finders and logger.filters == []
