"""tuneyard installed where users are: the shipped spaces come with the package, on every
Python the dependencies support. Fast: no wheel is built and nothing is downloaded
(.ci/wheel-check builds and installs the real wheel)."""

import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

from tuneyard.space.file import available_spaces, load_space, space_dirs

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SHIPPED = {path.stem for path in (ROOT / "search_spaces").glob("*.yaml")}


def test_the_project_ships_its_spaces():
    assert {"sine_lstm", "mnist_mlp", "cifar_cnn"} <= SHIPPED


def test_shipped_spaces_are_found_from_an_empty_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNEYARD_SPACES_DIR", raising=False)
    assert any((folder / "sine_lstm.yaml").is_file() for folder in space_dirs())
    assert SHIPPED <= set(available_spaces())
    assert load_space("sine_lstm").workload == "sine_lstm"


def test_the_working_directory_and_the_environment_come_before_the_shipped_spaces(tmp_path, monkeypatch):
    shipped = (ROOT / "search_spaces" / "sine_lstm.yaml").read_text()
    (tmp_path / "search_spaces").mkdir()
    (tmp_path / "search_spaces" / "sine_lstm.yaml").write_text(shipped)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNEYARD_SPACES_DIR", raising=False)
    assert available_spaces()["sine_lstm"] == tmp_path / "search_spaces" / "sine_lstm.yaml"
    assert SHIPPED <= set(available_spaces())

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sine_lstm.yaml").write_text(shipped)
    monkeypatch.setenv("TUNEYARD_SPACES_DIR", str(mine))
    assert available_spaces()["sine_lstm"] == mine / "sine_lstm.yaml"


def _install_as_pyproject_says(site: Path) -> None:
    """Lay the packages out as setuptools does in a wheel: each package's folder (package-dir,
    else the "" root plus its dotted name) with its modules and its package-data files."""
    tool = PYPROJECT["tool"]["setuptools"]
    package_dir = tool.get("package-dir", {})
    data = tool.get("package-data", {})
    for package in tool["packages"]:
        source = ROOT / package_dir.get(package, Path(package_dir.get("", "."), *package.split(".")))
        target = site.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        patterns = ["*.py", *data.get(package, []), *data.get("*", [])]
        for path in source.iterdir():
            if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                shutil.copy2(path, target / path.name)


def test_an_installed_package_finds_its_spaces_without_the_source_tree(tmp_path):
    site, elsewhere = tmp_path / "site-packages", tmp_path / "elsewhere"
    elsewhere.mkdir()
    _install_as_pyproject_says(site)
    code = "import tuneyard.space.file as f; print(f.__file__); print(*sorted(f.available_spaces()), sep=',')"
    env = {key: value for key, value in os.environ.items() if key != "TUNEYARD_SPACES_DIR"}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert Path(out[0]).is_relative_to(site)  # the laid-out copy, not the checkout
    assert SHIPPED <= set(out[1].split(","))


def test_every_subpackage_goes_into_the_wheel():
    on_disk = {
        ".".join(init.parent.relative_to(ROOT / "src").parts)
        for init in (ROOT / "src" / "tuneyard").rglob("__init__.py")
    }
    missing = on_disk - set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"


def test_python_3_11_to_3_13_are_admitted():
    supported = SpecifierSet(PYPROJECT["project"]["requires-python"])
    for version in ("3.11", "3.12", "3.13"):
        assert supported.contains(version), version


def _requirements(names: list[str], system: str = "Linux", machine: str = "x86_64") -> dict[str, set]:
    """The distributions (with their extras) that `names` install on one platform."""
    from packaging.requirements import Requirement

    env = {"platform_system": system, "platform_machine": machine}
    out = {}
    for text in names:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(env):
            out[requirement.name] = set(requirement.extras)
    return out


def test_tensorflow_comes_with_the_cpu_or_the_gpu_extra_never_both():
    project = PYPROJECT["project"]
    assert not {"tensorflow", "tensorflow-cpu"} & set(_requirements(project["dependencies"]))
    assert "keras" in _requirements(project["dependencies"])
    extras = project["optional-dependencies"]
    assert _requirements(extras["cpu"]) == {"tensorflow-cpu": set()}
    assert _requirements(extras["gpu"]) == {"tensorflow": {"and-cuda"}}  # CUDA, no tensorflow-cpu
    for system, machine in (("Darwin", "arm64"), ("Windows", "AMD64"), ("Linux", "aarch64")):
        assert _requirements(extras["cpu"], system, machine) == {"tensorflow": set()}
        assert _requirements(extras["gpu"], system, machine) == {"tensorflow": set()}
    # The CPU set-ups install the cpu extra: `make install` and the wheel check.
    assert "EXTRAS ?= dev,cpu" in (ROOT / "Makefile").read_text()
    assert '"${WHEEL}[cpu]"' in (ROOT / ".ci" / "wheel-check").read_text()


def test_the_tune_command_beside_this_python_is_tuneyard_s():
    """Ray installs a `tune` script of its own (Ray Tune's CLI): installed after tuneyard, it
    replaced ours (`tune run` said "Can't import ray.tune"). `make install` installs Ray
    first; `tuneyard` is the same command under a name Ray does not take."""
    for name in ("tune", "tuneyard"):
        script = Path(sys.executable).parent / name
        assert script.exists(), f"{script} is missing: pip install -e . (make install)"
        done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "leaderboard" in done.stdout, (
            f"{script} is not tuneyard's ({done.stderr.strip()[-200:]}): reinstall tuneyard "
            "after Ray (pip install --no-deps --force-reinstall -e .)")
