"""Every backend's trial is in the store, RUNNING, from its ask: one claim, one tell, one count."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.analysis.ledger import is_interrupted
from tuneyard.engine.sweep import Events, Sweep, SweepOptions
from tuneyard.records.attributes import RUNNER, this_runner
from tuneyard.store.optuna_store import Store


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


class Peeking(CheapTrainer):
    """Reads the study from its own store while each trial trains, as `tune leaderboard` would."""

    def __init__(self, study):
        super().__init__()
        self.study, self.seen = study, []

    def run(self, proposal, callbacks=None):
        store = Store(None, self.study, readonly=True)
        store.load()
        running = [t for t in store.trials() if t.state.name == "RUNNING"]
        store.close()
        self.seen.append((proposal.params, running))
        return super().run(proposal, callbacks)


class Started(Events):
    def __init__(self):
        self.keys = []

    def trial_started(self, key, params, epochs):
        self.keys.append(key)


@pytest.mark.parametrize("backend", ["grid", "random", "hyperband"])
def test_a_trial_is_running_in_the_store_while_it_trains(space_path, backend):
    trainer, events = Peeking(f"cheap-{backend}-s0"), Started()
    result = Sweep(SweepOptions(space=space_path, backend=backend, trials=3),
                   trainer=trainer).run(events)
    assert len(trainer.seen) == 3 and result.done == 3
    for number, (params, running) in enumerate(trainer.seen):
        assert [t.number for t in running] == [number]  # this one, numbered as the events say
        assert running[0].params == params and running[0].distributions.keys() == params.keys()
        assert running[0].user_attrs[RUNNER] == this_runner()
    assert events.keys == [0, 1, 2]
    assert [r["status"] for r in result.rows] == ["COMPLETE"] * 3  # told, in place: no copies


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from cheap import CheapTrainer
    from tuneyard.engine.sweep import Sweep, SweepOptions

    class Killed(CheapTrainer):
        def run(self, proposal, callbacks=None):
            if len(self.calls) == 1:  # the second trial: the runner dies mid-training
                os.kill(os.getpid(), signal.SIGKILL)
            return super().run(proposal, callbacks)

    Sweep(SweepOptions(space={space!r}, backend={backend!r}, trials=4), trainer=Killed()).run()
""")


# Keras Tuner's random oracle: its killed process and the one after import Keras Tuner, and
# with it TensorFlow (seconds each): slow, out of `make test-fast`.
@pytest.mark.parametrize("backend", ["grid", pytest.param("random", marks=pytest.mark.slow)])
def test_a_killed_runs_trial_is_found_and_runs_again(space_path, backend):
    """A grid point or a Keras Tuner proposal left RUNNING by a SIGKILLed runner."""
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), space=space_path, backend=backend)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr
    store = Store(None, f"cheap-{backend}-s0", readonly=True)
    store.load()
    left = [t for t in store.trials() if t.state.name == "RUNNING"]
    store.close()
    assert [t.number for t in left] == [1]  # the killed trial is in the store, still RUNNING
    killed_point = left[0].params

    messages = []

    class Said(Events):
        def message(self, text):
            messages.append(text)

    trainer = CheapTrainer()
    result = Sweep(SweepOptions(space=space_path, backend=backend, trials=4), trainer=trainer).run(Said())
    assert any("trial 1 was left running by a process that is gone" in m for m in messages)
    rows = {r["trial"]: r for r in result.rows}
    assert is_interrupted(rows[1]) and result.done == 4
    assert killed_point in [p.params for p in trainer.calls]  # its point runs again
    assert len(trainer.calls) == 3  # and only the points not done: 4 of the budget in all


@pytest.mark.parametrize("backend, prune", [("grid", "none"), ("tpe", "none"), ("tpe", "median")])
def test_a_runner_reads_each_of_its_trials_back_from_the_store_once(
        space_path, backend, prune, monkeypatch):
    # Each read of a trial is a few SQLAlchemy queries (about 5 ms): the Trial's own read when
    # it is made. The tell takes the trial as the Trial holds it (a pruning callback in this
    # process reports through it), and the runner's ledger takes its own trials as they
    # start and as they are told, without reading them.
    import optuna

    reads = []
    real = optuna.storages.RDBStorage.get_trial
    monkeypatch.setattr(optuna.storages.RDBStorage, "get_trial",
                        lambda storage, trial_id: reads.append(trial_id) or real(storage, trial_id))
    result = Sweep(SweepOptions(space=space_path, backend=backend, trials=6, prune=prune),
                   trainer=CheapTrainer()).run()
    assert result.done == 6
    assert len(set(reads)) == 6 and max(reads.count(t) for t in set(reads)) == 1, reads
    assert [r["status"] for r in result.rows] == ["COMPLETE"] * 6


def test_a_trial_its_claim_finds_past_the_budget_is_told_surplus_and_shown_nowhere(
        space_path, monkeypatch):
    # Another runner took the budget between this runner's ask and its claim: forced here.
    # The ledger took the trial in as it started and reads it no more; its claim tells it
    # surplus, so it is no row (not RUNNING), spends nothing, and the runner stops asking.
    from tuneyard.analysis.ledger import Ledger

    monkeypatch.setattr(Ledger, "within_budget", lambda self, number, budget: False)
    result = Sweep(SweepOptions(space=space_path, backend="tpe", trials=2),
                   trainer=CheapTrainer()).run()
    stored = Store(None, result.study, readonly=True)
    stored.load()
    trials = stored.trials()
    stored.close()
    assert [(t.state.name, t.user_attrs.get("surplus")) for t in trials] == [("FAIL", True)]
    assert result.rows == [] and result.done == 0
