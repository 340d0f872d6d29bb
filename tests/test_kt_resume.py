"""Resuming the Keras Tuner backends: no trial lost, none counted twice, the oracle continues.

Beyond the contract suite's resume checks: an interrupt between trials (from the
progress events), and a crash in the window after the runner recorded a trial
and before the oracle heard of it.
"""

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.analysis.ledger import counts_toward_budget
from tuneyard.backends.kt_backend import KerasTunerBackend
from tuneyard.engine.sweep import Events, Sweep, SweepOptions

KT_BACKENDS = ("random", "hyperband", "bayes")
HB = {"max_epochs": 9, "factor": 3}


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


class StopAfter(Events):
    def __init__(self, k):
        self.k, self.messages = k, []

    def message(self, text):
        self.messages.append(text)

    def trial_done(self, row, done, budget, best):
        if done == self.k:
            raise KeyboardInterrupt


def run(space_path, backend, trials, events=None, study=None):
    options = {**HB} if backend == "hyperband" else {}
    sweep = Sweep(SweepOptions(space=space_path, backend=backend, trials=trials, study=study,
                               backend_options=options), trainer=CheapTrainer())
    sweep.run(events)
    return sweep


def counted(sweep):
    return [r for r in sorted(sweep.rows, key=lambda r: r["trial"]) if counts_toward_budget(r)]


def fingerprint(rows):
    return sorted((r["extra"]["kt_trial"], repr(sorted(r["params"].items())),
                   r["extra"].get("hb_epochs")) for r in rows)


def check_complete(sweep, budget):
    rows = counted(sweep)
    assert len(rows) == budget
    ids = [r["extra"]["kt_trial"] for r in rows]
    assert len(set(ids)) == len(ids), "a Keras Tuner trial was counted twice"


@pytest.mark.parametrize("backend", KT_BACKENDS)
@pytest.mark.slow
def test_interrupted_between_trials_resumes_to_the_budget(space_path, backend):
    budget = 10
    with pytest.raises(KeyboardInterrupt):
        run(space_path, backend, budget, events=StopAfter(4))
    events = StopAfter(-1)
    resumed = run(space_path, backend, budget, events=events)
    check_complete(resumed, budget)
    assert any("resumed Keras Tuner" in m for m in events.messages)
    if backend != "bayes":  # the Gaussian process refits after a restart; the others replay
        straight = run(space_path, backend, budget, study="straight")
        assert fingerprint(counted(resumed)) == fingerprint(counted(straight))


@pytest.mark.parametrize("backend", KT_BACKENDS)
@pytest.mark.slow
def test_a_crash_after_recording_and_before_telling_loses_nothing(space_path, backend,
                                                                  monkeypatch):
    budget = 8
    real_tell = KerasTunerBackend.tell
    calls = []

    def crashing_tell(self, proposal, result):
        calls.append(proposal)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the store has the trial; the oracle never hears of it
        return real_tell(self, proposal, result)

    monkeypatch.setattr(KerasTunerBackend, "tell", crashing_tell)
    with pytest.raises(KeyboardInterrupt):
        run(space_path, backend, budget)
    monkeypatch.setattr(KerasTunerBackend, "tell", real_tell)
    events = StopAfter(-1)
    resumed = run(space_path, backend, budget, events=events)
    check_complete(resumed, budget)
    assert any("1 finished in the store but not told, now told" in m for m in events.messages)
    if backend != "bayes":
        straight = run(space_path, backend, budget, study="straight")
        assert fingerprint(counted(resumed)) == fingerprint(counted(straight))


@pytest.mark.parametrize("backend", KT_BACKENDS)
@pytest.mark.slow
def test_lost_oracle_files_do_not_repeat_finished_trials(space_path, backend, results_in_tmp):
    import shutil

    first = run(space_path, backend, 5)
    shutil.rmtree(first.folder / "kt")
    resumed = run(space_path, backend, 9)
    rows = counted(resumed)
    assert len(rows) == 9
    if backend == "random":
        points = [repr(sorted(r["params"].items())) for r in rows]
        assert len(set(points)) == len(points)
