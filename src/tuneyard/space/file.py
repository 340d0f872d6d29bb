"""Reading search-space YAML files: find them, parse them, validate every field.

Every rule broken gives a SpaceError naming the file, the line, the field and
the rule, so a user can fix the file without reading our code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from tuneyard.errors import SpaceError
from tuneyard.space.core import DIRECTIONS, MAX_OBJECTIVES, MEASURES, Objective, Space
from tuneyard.space.rules import build_params, build_training
from tuneyard.space.yaml_limits import YamlLimitError, load_yaml, read_text

TOP_KEYS = {"name", "workload", "description", "objective", "objectives", "training", "fixed",
            "hyperparameters"}
# The spaces shipped with tuneyard: the package's own search_spaces/ folder in an installed wheel
# (pyproject.toml installs the project's search_spaces/ there), else the project's search_spaces/
# next to src/ (a checkout or an editable install, where that folder is read in place).
BUNDLED_DIR = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parents[1] / "search_spaces",
            Path(__file__).resolve().parents[3] / "search_spaces",
        )
        if folder.is_dir()
    ),
    Path(__file__).resolve().parents[1] / "search_spaces",
)


def space_dirs() -> list[Path]:
    """Folders searched for `<name>.yaml`, first match wins: $TUNEYARD_SPACES_DIR, then the
    working directory's search_spaces/, then the spaces shipped with tuneyard."""
    dirs = [Path.cwd() / "search_spaces"]
    if os.environ.get("TUNEYARD_SPACES_DIR"):
        dirs.insert(0, Path(os.environ["TUNEYARD_SPACES_DIR"]))
    if BUNDLED_DIR not in dirs:
        dirs.append(BUNDLED_DIR)
    return dirs


def available_spaces() -> dict[str, Path]:
    """Every space file found, by name."""
    found: dict[str, Path] = {}
    for folder in space_dirs():
        for path in sorted(p for p in folder.glob("*.y*ml") if p.is_file()) if folder.is_dir() else []:
            found.setdefault(path.stem, path)
    return found


def resolve_space_path(name_or_path: str) -> Path:
    """The file for a space name (one of search_spaces/) or a path to a YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        raise SpaceError(f"space file {name_or_path} does not exist")
    spaces = available_spaces()
    if name_or_path in spaces:
        return spaces[name_or_path]
    names = ", ".join(sorted(spaces)) or "none"
    raise SpaceError(
        f"unknown space '{name_or_path}'; valid spaces: {names} "
        "(or pass a path to a YAML file, or drop one in search_spaces/)"
    )


def load_space(name_or_path: str) -> Space:
    """Load and validate a space by name or path."""
    path = resolve_space_path(name_or_path)
    try:
        text = read_text(path)
    except YamlLimitError as exc:
        raise SpaceError(f"{path}: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, a binary file
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not UTF-8 text"
        raise SpaceError(f"space file {path} cannot be read: {reason}") from None
    return parse_space(text, str(path))


def parse_space(text: str, path: str = "<string>", check_workload: bool = True) -> Space:
    """Parse and validate the YAML text of a space; `path` is used in messages.

    `check_workload=False` skips resolving the workload (readers of a stored study
    that need only the hyperparameters' names)."""
    try:
        root, data = load_yaml(text)
    except YamlLimitError as exc:
        raise SpaceError(f"{path}:{exc.line}: {exc.problem}" if exc.line else f"{path}: {exc.problem}") \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpaceError(f"{where}: malformed YAML: {problem}") from None
    fail = _Failer(path, root)
    if not isinstance(data, dict):
        fail((), "must be a mapping with workload, objective and hyperparameters")
    unknown = sorted((key for key in data if key not in TOP_KEYS), key=str)  # `1:` is a key too
    if unknown:
        fail((unknown[0],), f"unknown key; allowed keys: {', '.join(sorted(TOP_KEYS))}")
    objectives = _objectives(data, fail)
    first = objectives[0] if objectives else Objective(_metric(data, fail), _direction(data, fail))
    space = Space(
        name=_name(data, path, fail),
        workload=_workload(data, fail),
        metric=first.metric,
        direction=first.direction,
        objectives=objectives,
        training=build_training(data.get("training") or {}, fail),
        params=build_params(data.get("hyperparameters"), fail),
        fixed=_fixed(data, fail),
        description=str(data.get("description") or ""),
        path=path,
    )
    if check_workload:
        check_against_workload(space, fail)
    return space


class _Failer:
    """Raises SpaceError for a field path, with the line it sits on."""

    def __init__(self, path: str, root: Any):
        self.path, self.root = path, root

    def __call__(self, keys: tuple, rule: str) -> None:
        line = _line_of(self.root, keys)
        where = f"{self.path}:{line}" if line else self.path
        field = ".".join(str(k) for k in keys) or "(top level)"
        raise SpaceError(f"{where}: {field}: {rule}")


def _line_of(node: Any, keys: tuple) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(key)]
            if not match:
                return line
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _name(data: dict, path: str, fail) -> str:
    name = data.get("name") or (Path(path).stem if path != "<string>" else "unnamed")
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        fail(("name",), "must be a word of letters, digits, '_' or '-'")
    return name


def _workload(data: dict, fail) -> str:
    workload = data.get("workload")
    if not isinstance(workload, str) or not workload.strip():
        # heavy: numpy (the workloads package loads it)
        from tuneyard.workloads.registry import installed_workloads

        names = ", ".join(sorted(installed_workloads())) or "none installed"
        fail(("workload",), f"required: an installed workload's name ({names}) or "
                            "module:object, e.g. my_models:Digits")
    return workload


# Leaderboard columns a hyperparameter or fixed setting may not shadow.
RESERVED = frozenset({"rank", "trial", "backend", "epochs", "seconds", "status", "diagnosis",
                      "error", "seed", "started", "value", "worker", "runner"})


def check_against_workload(space: Space, fail: Any = None) -> None:
    """Refuse a space the workload cannot honour: reserved names, hyperparameters it does
    not read, required ones missing. Imports the workload's module (not TensorFlow for the
    shipped ones)."""
    # heavy: numpy
    from tuneyard.workloads import resolve_workload

    fail = fail or _Failer(space.path, None)
    names = {p.name for p in space.params} | set(space.fixed)
    for name in sorted(names & RESERVED):
        section = "fixed" if name in space.fixed else "hyperparameters"
        fail((section, name), f"'{name}' is a leaderboard column; rename the hyperparameter")
    try:
        workload = resolve_workload(space.workload, space_folder(space))
    except SpaceError as exc:
        fail(("workload",), str(exc))
    problem = workload.hyperparameter_problem(names)
    if problem:
        fail(("hyperparameters",), problem)


def space_of_study(config: dict, check_workload: bool = True) -> Space:
    """The space a study was made with: the copy stored with it, else found by its name."""
    text = config.get("space_text")
    if text:
        return parse_space(text, config.get("space_file") or "<stored with the study>",
                           check_workload)
    return load_space(config.get("space", ""))


def space_text(space: Space) -> str:
    """The space as YAML, stored with a study so it is known wherever the study is read."""
    return yaml.safe_dump(space.as_dict(), sort_keys=False)


def space_folder(space: Space) -> str | None:
    """The folder of the space's file (on the import path for its workload), if any."""
    return str(Path(space.path).resolve().parent) if space.path and not space.path.startswith("<") \
        else None


def _objectives(data: dict, fail) -> tuple[Objective, ...]:
    """`objectives:` (two or three, each a metric and a direction); () when the space has
    a single `objective:`."""
    if "objectives" not in data:
        return ()
    if "objective" in data:
        fail(("objectives",), "give objective (one) or objectives (two or three), not both")
    listed = data["objectives"]
    if not isinstance(listed, list) or not 2 <= len(listed) <= MAX_OBJECTIVES:
        fail(("objectives",), "must list two or three {metric, direction} mappings "
                              "(one objective is written objective: {metric, direction})")
    out: list[Objective] = []
    for i, entry in enumerate(listed):
        if not isinstance(entry, dict) or set(entry) != {"metric", "direction"}:
            fail(("objectives", i), "must be a mapping with metric and direction, e.g. "
                                    "{metric: params, direction: minimize}")
        metric, direction = entry["metric"], entry["direction"]
        if not isinstance(metric, str) or not (metric.startswith("val_") or metric in MEASURES):
            fail(("objectives", i, "metric"), f"must be a validation metric such as val_accuracy "
                                              f"or one of {', '.join(MEASURES)}, got {metric!r}")
        if i == 0 and metric in MEASURES:
            fail(("objectives", 0, "metric"), "the first objective must be a validation metric "
                 "(training stops early and keeps its best epoch by it); list "
                 f"{metric} after it")
        if direction not in DIRECTIONS:
            fail(("objectives", i, "direction"), f"must be maximize or minimize, got {direction!r}")
        if metric in (o.metric for o in out):
            fail(("objectives", i, "metric"), f"{metric} is listed twice")
        out.append(Objective(metric, direction))
    return tuple(out)


def _objective(data: dict, fail) -> dict:
    objective = data.get("objective")
    if not isinstance(objective, dict):
        fail(("objective",), "required: a mapping with metric (e.g. val_accuracy) and direction")
    return objective


def _metric(data: dict, fail) -> str:
    metric = _objective(data, fail).get("metric")
    if not isinstance(metric, str) or not metric.startswith("val_"):
        fail(("objective", "metric"), f"must name a validation metric such as val_accuracy, got {metric!r}")
    return metric


def _direction(data: dict, fail) -> str:
    direction = _objective(data, fail).get("direction")
    if direction not in DIRECTIONS:
        fail(("objective", "direction"), f"must be maximize or minimize, got {direction!r}")
    return direction


def _fixed(data: dict, fail) -> dict:
    fixed = data.get("fixed") or {}
    if not isinstance(fixed, dict):
        fail(("fixed",), "must be a mapping of constant model settings (e.g. window: 20)")
    return dict(fixed)
