"""Hostile space files and hostile folders: alias bombs, repeated keys, axes of 10**12 values,
and files beside a space named like the libraries tuneyard imports.

Real files in a temporary folder and the real `tune` command; every bad input ends in one
line and exit 2, and one bad file in the spaces folder never hides the others.
"""

import os
import subprocess
import sys

import optuna
import pytest

from tuneyard.errors import BackendError, SpaceError
from tuneyard.space.file import load_space, parse_space
from tuneyard.space.grid_points import Grid, grid_size

TUNE = [sys.executable, "-m", "tuneyard"]
HEAD = """\
name: {name}
workload: tuneyard.testing:TinyRegression
objective: {{metric: val_mse, direction: minimize}}
training: {{epochs: 1, batch_size: 64}}
"""
GOOD_PARAMS = """\
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3]}
  units: {type: int, low: 4, high: 8, step: 4}
"""
WIDE_PARAMS = """\
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3]}
  units: {type: int, low: 1, high: 1e12}
"""


def good(name: str) -> str:
    """A valid space called `name` (4 grid points)."""
    return HEAD.format(name=name) + GOOD_PARAMS


def wide(name: str) -> str:
    """A valid space whose int axis spans 10**12 values."""
    return HEAD.format(name=name) + WIDE_PARAMS


def bomb(levels: int = 9) -> str:
    """A billion laughs in `fixed`: 9 nested levels of 9 aliases, 9**9 values once expanded."""
    lines = ["fixed:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    body = "\n".join(lines) + "\nhyperparameters:\n  units: {type: int, low: 4, high: 8}\n"
    return HEAD.format(name="bomb") + body


def tune(*args, cwd=None, timeout=60, **env):
    """Run the real CLI; a hang past `timeout` fails the test instead of stalling the suite."""
    return subprocess.run(
        [*TUNE, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "400", **env},
    )


def one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- case 3a: aliases expanded within a bound ---------------------------------------------


def test_an_alias_bomb_is_refused_in_one_line_naming_file_and_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb())
    line = one_line_error(tune("show-space", "--json", path, timeout=30))
    assert f"{path}:" in line and "alias" in line
    with pytest.raises(SpaceError, match="more than 100,000 values, each alias"):
        load_space(str(path))  # the same for `tune run`, which loads the space the same way


def test_aliases_within_the_bound_and_merge_keys_still_work():
    text = good("shared").replace(
        "  units: {type: int, low: 4, high: 8, step: 4}\n",
        """\
  units: &units {type: int, low: 4, high: 8, step: 4}
  width: {<<: *units, high: 12}
""",
    )
    space = parse_space(text, "shared.yaml", check_workload=False)
    assert space.param("width").high == 12 and space.param("units").high == 8  # `<<` overridden


@pytest.mark.parametrize(
    "text, problem",
    [
        ("a: &a [1, *a]\n", "contains it"),  # an alias inside what it names: a cycle
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),  # a RecursionError in PyYAML
    ],
)
def test_cycles_and_deep_nesting_are_one_line(text, problem):
    with pytest.raises(SpaceError, match=problem):
        parse_space(text, "bad.yaml")


def test_a_file_too_large_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(good("huge") + "#" * 2_000_000 + "\n")
    assert "larger than" in one_line_error(tune("show-space", path))


# --- case 3b: duplicate keys refused with both lines --------------------------------------


def test_a_repeated_key_is_refused_with_both_lines():
    text = good("dup") + "  units: {type: int, low: 4, high: 64, step: 4}\n"
    with pytest.raises(SpaceError, match=r"dup.yaml:8: key 'units' appears twice \(lines 7 and 8\)"):
        parse_space(text, "dup.yaml")


def test_two_hyperparameters_blocks_are_named_as_such():
    text = good("dup") + "hyperparameters:\n  units: {type: int, low: 4, high: 64}\n"
    with pytest.raises(SpaceError, match=r"key 'hyperparameters' appears twice \(lines 5 and 8\)"):
        parse_space(text, "dup.yaml")


def test_a_key_repeated_in_a_flow_mapping_is_refused():
    text = good("dup").replace("{type: int, low: 4,", "{type: int, low: 4, low: 2,")
    with pytest.raises(SpaceError, match=r"key 'low' appears twice \(both on line 7\)"):
        parse_space(text, "dup.yaml")


def test_keys_that_read_the_same_are_one_key_and_odd_keys_are_one_line():
    with pytest.raises(SpaceError, match=r"key 'true' appears twice \(lines 1 and 2\)"):
        parse_space("yes: 1\ntrue: 2\n", "same.yaml")  # both are True to YAML 1.1
    with pytest.raises(SpaceError, match="odd.yaml:1: 1: unknown key"):  # not a TypeError
        parse_space('1: a\n"1": b\n', "odd.yaml")


# --- case 3c: any axis counted without being enumerated -----------------------------------


def test_a_wide_int_axis_is_counted_not_listed(tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text(wide("wide"))
    proc = tune("show-space", path)
    assert proc.returncode == 0, proc.stderr
    assert "grid size: 2,000,000,000,000" in proc.stdout
    grid = Grid(load_space(str(path)))
    assert grid.point(grid.size - 1) == {"learning_rate": 1e-3, "units": 10**12}
    with pytest.raises(BackendError, match="2,000,000,000,000 points"):  # one line, not a MemoryError
        from tuneyard.backends.grid import GridBackend

        GridBackend.check_space(grid.space)


def test_an_axis_wider_than_sys_maxsize_and_its_children_are_decoded_by_index():
    text = (
        HEAD.format(name="wider")
        + """\
hyperparameters:
  depth: {type: int, low: 0, high: 1e30}
  units: {type: int, low: 1, high: 3, when: {depth: [2, 1e30]}}
"""
    )
    space = parse_space(text, "wider.yaml", check_workload=False)
    top = int(1e30)
    assert grid_size(space) == top + 1 + 2 * 2  # two values with 3 children's points each
    grid = Grid(space)
    assert [grid.point(i) for i in range(6)] == [
        {"depth": 0},
        {"depth": 1},
        {"depth": 2, "units": 1},
        {"depth": 2, "units": 2},
        {"depth": 2, "units": 3},
        {"depth": 3},
    ]
    assert grid.point(grid.size - 1) == {"depth": top, "units": 3}
    assert grid.point(grid.size - 4) == {"depth": top - 1}


def brute_force(space) -> list[dict]:
    """Every point by listing, in the grid's order: the reference the indexed grid must match."""
    points = [{}]
    for param in [p for p in space.params if not p.parent]:
        children = [c for c in space.params if c.parent == param.name]
        options = []
        for value in param.grid_values():
            sub = [{param.name: value}]
            for child in [c for c in children if value in c.parent_values]:
                sub = [{**s, child.name: v} for s in sub for v in child.grid_values()]
            options += sub
        points = [{**p, **o} for p in points for o in options]
    return points


@pytest.mark.parametrize(
    "hyperparameters",
    [
        "  a: {type: int, low: 1, high: 7, step: 2}\n  b: {type: int, low: 1, high: 2, when: {a: [3, 7]}}\n"
        "  c: {type: choice, values: [x, y]}\n",
        "  a: {type: int, low: -2, high: 4}\n  b: {type: int, low: 1, high: 3, when: {a: [-2]}}\n"
        "  c: {type: choice, values: [p, q], when: {a: [4, 0]}}\n",
        "  a: {type: int, low: 1, high: 9, grid: [9, 1, 5]}\n"
        "  b: {type: int, low: 1, high: 2, when: {a: 5}}\n",
    ],
)
def test_the_indexed_grid_is_the_listed_grid(hyperparameters):
    space = parse_space(
        HEAD.format(name="g") + "hyperparameters:\n" + hyperparameters, "g.yaml", check_workload=False
    )
    grid = Grid(space)
    listed = brute_force(space)
    assert grid.size == len(listed)
    assert sorted(map(repr, (grid.point(i) for i in range(grid.size)))) == sorted(map(repr, listed))


@pytest.mark.parametrize(
    "bounds, problem",
    [
        ("low: 0.5, high: 3", "low: required: an integer, got 0.5"),
        ("low: 1, high: .inf", "high: required: an integer, got inf"),
        ("low: 1, high: 1e400", "high: required: an integer"),
    ],
)
def test_an_int_bound_that_is_no_integer_is_one_line(bounds, problem):
    text = HEAD.format(name="b") + f"hyperparameters:\n  units: {{type: int, {bounds}}}\n"
    with pytest.raises(SpaceError, match=problem):
        parse_space(text, "b.yaml")


def test_one_bad_space_never_hides_the_others_in_tune_spaces(tmp_path):
    folder = tmp_path / "spaces"
    folder.mkdir()
    (folder / "good.yaml").write_text(good("good"))
    (folder / "wide.yaml").write_text(wide("wide"))
    (folder / "bomb.yaml").write_text(bomb())
    (folder / "dup.yaml").write_text(good("dup") + "  units: {type: int, low: 1, high: 2}\n")
    (folder / "markup.yaml").write_text('"[/red]": 1\n')  # an error that rich would read as markup
    (folder / "binary.yaml").write_bytes(b"\xff\xfe\x00 not text")
    (folder / "quits.py").write_text("import sys\nsys.exit(3)  # a script's code run at import\n")
    (folder / "quits.yaml").write_text(good("quits").replace("tuneyard.testing:TinyRegression", "quits:W"))
    proc = tune("spaces", timeout=30, TUNEYARD_SPACES_DIR=folder)
    assert proc.returncode == 0, proc.stderr
    rows = table_rows(proc.stdout)
    assert "invalid" not in rows["good"] and "invalid" not in rows["wide"]
    assert "2,000,000,000,000" in rows["wide"]
    for name, problem in [
        ("bomb", "line 11: more than 100,000 values"),
        ("dup", "appears twice (lines 7 and 8)"),
        ("markup", "line 1: [/red]: unknown key"),
        ("binary", "not UTF-8"),
        ("quits", "importing quits exited (SystemExit: 3)"),
    ]:
        assert "invalid:" in rows[name] and problem.replace(" ", "") in rows[name], rows[name]


def table_rows(text: str) -> dict[str, str]:
    """A rich table's rows by first cell, each row's cells joined without blanks (the table
    wraps long cells onto lines whose first cell is empty)."""
    rows: dict[str, list[list[str]]] = {}
    name = None
    for line in text.splitlines():
        cells = line.split("│")[1:-1]
        if len(cells) < 3:
            continue
        name = cells[0].strip() or name
        rows.setdefault(name, []).append(cells)
    return {
        name: "".join("".join(c) for c in zip(*lines, strict=True)).replace(" ", "")
        for name, lines in rows.items()
    }


# --- case 7: a user's module never shadows a library ----------------------------------------

WORKLOAD = "from tuneyard.testing import TinyRegression as Tiny\n"
SHADOWS = ("optuna", "keras", "tensorflow", "pandas", "numpy", "sqlite3", "yaml")


@pytest.fixture
def user_folder(tmp_path):
    """A space with its workload beside it, and files named like the libraries tuneyard uses."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "my_models.py").write_text(WORKLOAD)
    (folder / "tiny.yaml").write_text(
        good("tiny")
        .replace("tuneyard.testing:TinyRegression", "my_models:Tiny")
        .replace("batch_size: 64", "batch_size: 128")
    )
    for name in SHADOWS:
        (folder / f"{name}.py").write_text(f"raise SystemExit('the user file {name}.py was imported')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return folder, elsewhere


@pytest.mark.slow
def test_files_named_like_libraries_beside_the_space_are_not_imported(user_folder, results_in_tmp):
    folder, elsewhere = user_folder
    # --trial-timeout: the one worker trains in a spawned process (one TensorFlow import, not two).
    run = subprocess.Popen(
        [*TUNE, "run", "--space", folder / "tiny.yaml", "--trials", "2", "--trial-timeout", "5m",
         "--study", "mine"],
        cwd=elsewhere,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, out[-2000:] + err[-2000:]
    assert "was imported" not in out + err
    study = optuna.load_study(study_name="mine", storage=f"sqlite:///{results_in_tmp / 'tuneyard.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    # Run by a spawned worker process (not `tune run` itself), which found my_models.py too.
    assert not any(t.user_attrs["worker"].endswith(f":{run.pid}") for t in trials)


def test_a_workload_module_named_like_an_installed_one_is_refused(user_folder):
    folder, elsewhere = user_folder
    (folder / "pandas.py").write_text(WORKLOAD)
    (folder / "tiny.yaml").write_text((folder / "tiny.yaml").read_text().replace("my_models:", "pandas:"))
    line = one_line_error(tune("show-space", folder / "tiny.yaml", cwd=elsewhere))
    assert f"{folder / 'pandas.py'} has the name of the module pandas" in line and "rename" in line


def test_the_workload_beside_the_space_still_imports_after_the_installed_packages(user_folder):
    folder, elsewhere = user_folder
    proc = tune("show-space", folder / "tiny.yaml", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "workload: my_models:Tiny" in proc.stdout


def test_python_m_tuneyard_from_the_users_folder_imports_no_file_of_it(user_folder):
    folder, _ = user_folder
    proc = tune("show-space", "tiny.yaml", cwd=folder)  # `python -m` puts the folder first
    assert proc.returncode == 0, proc.stderr
    assert "was imported" not in proc.stdout + proc.stderr
