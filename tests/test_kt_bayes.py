"""The bayes backend's Gaussian-process path: the points it can propose are inside the space.

A real GP proposal costs seconds (Keras Tuner restarts L-BFGS 50 times), so the
translation is checked on the GP's own vector-to-values mapping over many
random vectors, and the oracle is driven past its random start once: that point
must be the Gaussian process's (fitted on the finished trials, and not the point
the same seed draws at random).
"""

import numpy as np
import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.backends.kt_backend import BayesBackend
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.space.file import load_space
from tuneyard.space.keras_tuner import from_kt_values


@pytest.mark.slow
def test_every_point_the_gaussian_process_can_pick_lies_inside_the_space(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    space = load_space(str(path))
    backend = BayesBackend(space, seed=0, budget=5, workdir=tmp_path / "w", options={})
    backend.resume([])
    dims = len(backend.oracle._nonfixed_space())
    rng = np.random.default_rng(0)
    vectors = [*rng.random((300, dims)), np.zeros(dims), np.full(dims, 1 - 1e-9)]
    for vector in vectors:
        params = from_kt_values(space, backend.oracle._vector_to_values(vector))
        assert space.check_values(params) == [], params


def bayes_sweep(path, initial_points, trials=3):
    trainer = CheapTrainer()
    sweep = Sweep(SweepOptions(space=str(path), backend="bayes", trials=trials,
                               study=f"bayes-{initial_points}",
                               backend_options={"initial_points": initial_points}),
                  trainer=trainer)
    return sweep, sweep.run().leaderboard, trainer.calls


@pytest.mark.slow
def test_past_its_random_start_bayes_proposes_the_gaussian_process_point(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    space = load_space(str(path))
    sweep, frame, calls = bayes_sweep(path, initial_points=2)
    assert len(frame) == 3 and set(frame["status"]) == {"COMPLETE"}
    assert all(space.check_values(p.params) == [] for p in calls)
    # The same seed with a random start longer than the sweep: every point random.
    _, _, random_calls = bayes_sweep(path, initial_points=10)
    assert [p.params for p in calls[:2]] == [p.params for p in random_calls[:2]]
    assert calls[2].params != random_calls[2].params  # the third left the random path
    # ... for the Gaussian process, fitted on the two finished trials when it was asked.
    oracle = sweep.backend.oracle
    gpr = oracle.gpr
    assert hasattr(gpr, "X_train_"), "the Gaussian process was never fitted"
    # (an inactive conditional hyperparameter is vectorised at its default, as Keras Tuner does)
    vectors = [[hp.value_to_prob(p.params.get(hp.name, hp.default))
                for hp in oracle._nonfixed_space()] for p in calls[:2]]
    np.testing.assert_allclose(gpr.X_train_, vectors)


def test_the_random_start_is_at_most_a_third_of_a_small_budget(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    space = load_space(str(path))

    def initial(budget, **options):
        backend = BayesBackend(space, seed=0, budget=budget, workdir=tmp_path / f"w{budget}",
                               options=options)
        backend.resume([])
        return backend.oracle.num_initial_points

    per_param = 3 * len(space.params)
    assert initial(15) == 5  # Keras Tuner's own default would leave no trial to the GP
    assert initial(300) == per_param
    assert initial(3) == 2
    assert initial(15, initial_points=7) == 7
