"""The scheduler files the README shows run for real (issue 21): the SLURM array script and the
Kubernetes Job manifest each start `tune worker` on a PostgreSQL study; here each one's own
command line, with the environment it reads (STUDY, STORAGE) pointed at a fresh database,
joins a study that a small `tune run` created, and finishes trials of it.

The PostgreSQL server is tests/pg_server.py's: without one the PostgreSQL test skips saying
why, and fails under CI.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import hanging
import inproc
import pytest
import yaml
from pg_server import database_url, fresh_database
from test_postgres import SPACE, trials_of

ROOT = Path(__file__).resolve().parents[1]
SBATCH = ROOT / "examples" / "slurm" / "tune-worker.sbatch"
JOB = ROOT / "examples" / "k8s" / "tune-worker-job.yaml"
TUNE = [sys.executable, "-c", "from tuneyard.cli.main import app; app(prog_name='tune')"]


def worker_lines(text: str) -> list[str]:
    """The lines of a shell script that start `tune worker` (comments left out)."""
    return [line for line in text.splitlines()
            if not line.lstrip().startswith("#") and re.search(r"(^|\s)tune worker\s", line)]


def kube_expand(arg: str, env: dict) -> str:
    """Kubernetes' expansion of a container's command: `$(NAME)` of a variable the container
    defines becomes its value, `$$` becomes `$`, anything else stays as written."""
    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, arg)


def job_container() -> dict:
    job = yaml.safe_load(JOB.read_text())
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    assert job["spec"]["parallelism"] >= 2  # N workers at once
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    [container] = job["spec"]["template"]["spec"]["containers"]
    return container


def job_command(study: str, storage: str) -> tuple[list[str], dict]:
    """The Job's container command as Kubernetes would run it, and the environment it gives:
    the manifest's variables, with STUDY and STORAGE (a secret's key there) set to ours."""
    container = job_container()
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    secret = [e["name"] for e in container["env"] if "valueFrom" in e]
    assert secret == ["STORAGE"]  # the URL and its password come from a secret
    env.update(STUDY=study, STORAGE=storage)
    argv = [kube_expand(a, env) for a in [*container["command"], *container.get("args", [])]]
    return argv, env


def test_each_file_holds_one_tune_worker_line_and_the_readme_shows_it_whole():
    readme = (ROOT / "README.md").read_text()
    for path in (SBATCH, JOB):
        assert f"examples/{path.parent.name}/{path.name}" in readme
        assert path.read_text() in readme, f"README's copy of {path.name} differs from the file"
    [line] = worker_lines(SBATCH.read_text())
    assert shlex.split(line)[:6] == ["exec", "tune", "worker", "--study", "$STUDY", "--storage"]
    argv, _ = job_command("s", "postgresql://u@h/d")
    assert argv[:6] == ["tune", "worker", "--study", "s", "--storage", "postgresql://u@h/d"]


def test_kube_expand_follows_kubernetes_rules():
    env = {"A": "x y", "B": "2"}
    assert kube_expand("$(A)-$(B)", env) == "x y-2"
    assert kube_expand("$$(A) $(C) $", env) == "$(A) $(C) $"


@pytest.fixture
def study(tmp_path, monkeypatch):
    """A fresh database holding a study of the tiny space with a budget of 2 trials, most of
    it left to the workers: `tune run --timeout 1s` creates it and starts at most one trial
    (the time budget ends the sweep before a second); the timeout is not stored, so a worker
    runs the rest. Yields (study, storage URL, the runner of `tune run`'s trials)."""
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    (spaces / "pg_tiny.yaml").write_text(SPACE)
    bin_dir = tmp_path / "bin"  # `tune` on PATH, as installed: this checkout's tuneyard
    bin_dir.mkdir()
    shim = bin_dir / "tune"
    shim.write_text("#!/bin/sh\nexec " + shlex.join(TUNE) + ' "$@"\n')
    shim.chmod(0o755)
    for key, value in {"TUNEYARD_SPACES_DIR": str(spaces), "TUNEYARD_HEARTBEAT": "1",
                       "TUNEYARD_GRACE": "4", "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                       "TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"}.items():
        monkeypatch.setenv(key, value)
    with fresh_database("tuneyard_sched") as name:
        url, name = database_url(name), "pg-sched"
        # In this process (tests/inproc.py): making the study needs no process of its own.
        run = inproc.tune("run", "--space", "pg_tiny", "--backend", "tpe", "--trials", "2",
                          "--subset", "100", "--timeout", "1s", "--storage", url, "--study", name,
                          cwd=tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"tune worker --study {name} --storage {url}" in run.stdout
        yield name, url


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["slurm", "k8s"])
def test_the_scheduler_s_worker_command_finishes_the_study(study, scheduler, tmp_path, monkeypatch):
    name, url = study
    # The scheduler's command is under test, not training (the study's first trial trained
    # Keras): the worker it starts trains on a stand-in and loads no TensorFlow.
    hanging.use_stand_in(monkeypatch)
    before = {t.number for t in trials_of(url, name) if t.state.name == "COMPLETE"}
    assert len(before) <= 1  # the rest of the budget is the worker's
    if scheduler == "slurm":
        # What sbatch runs on a task's node: the script itself (the #SBATCH lines are comments),
        # with SLURM's variables for one task of the array.
        argv = ["bash", str(SBATCH)]
        env = {"STUDY": name, "STORAGE": url, "SLURM_ARRAY_TASK_ID": "0", "SLURM_CPUS_PER_TASK": "1"}
    else:
        argv, env = job_command(name, url)
    worker = subprocess.Popen(argv, env={**os.environ, **env}, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = worker.communicate(timeout=150)[0]
    assert worker.returncode == 0, output
    assert "Traceback" not in output, output
    trials = trials_of(url, name)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"], output
    # The script and the shim exec: the worker's trials carry the pid of the process started.
    by_worker = [t.number for t in trials if t.user_attrs["runner"].rsplit(":", 1)[1] == str(worker.pid)]
    assert len(by_worker) == 2 - len(before) >= 1, (by_worker, before, output)
