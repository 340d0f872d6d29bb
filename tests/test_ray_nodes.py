"""`--executor ray` on two Ray nodes of this machine (ray.cluster_utils.Cluster: a head and a
second node with a resource of its own), started once for the module: trials land on both,
and the second node is killed while a trial runs there (when the trial says it has started,
tests/cheap.py RayNodeTrainer): its trial is recorded as lost with its node and runs again
with the same parameters; no trial is lost or run twice.
"""

import os
import threading
import time

import optuna
import pytest
from cheap import SPACE, RayNodeTrainer
from test_ray import importable_here

from tuneyard.analysis.ledger import is_interrupted
from tuneyard.engine.sweep import Sweep, SweepOptions

ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")


@pytest.fixture(scope="module")
def two_nodes():
    from ray.cluster_utils import Cluster

    with importable_here():
        # A node is marked dead after 2 missed health checks 0.5 s apart (Ray's defaults: 5, 3 s apart).
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 2, "object_store_memory": 80 * 2**20, "include_dashboard": False,
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 2,
                               "health_check_initial_delay_ms": 0}})
        second = cluster.add_node(num_cpus=2, resources={"second": 2}, object_store_memory=80 * 2**20)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        cluster.wait_for_nodes()
        yield cluster, second
        ray.shutdown()
        cluster.shutdown()


def kill_when(path, cluster, node):
    """Remove `node` from `cluster` as soon as `path` exists (a trial made it there)."""
    def watch():
        deadline = time.monotonic() + 120
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.02)
        cluster.remove_node(node, allow_graceful=False)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow  # two Ray nodes, one killed mid-trial
def test_a_node_killed_mid_trial_has_its_trial_recorded_and_run_again(tmp_path, results_in_tmp, two_nodes):
    cluster, second = two_nodes
    space = tmp_path / "cheap.yaml"
    space.write_text(SPACE)
    held = str(tmp_path / "held")
    watcher = kill_when(held, cluster, second)
    trainer = RayNodeTrainer(hold_on=second.node_id, held=held, seconds=0.3)
    options = SweepOptions(space=str(space), backend="grid", study="nodes", trials=8, workers=4,
                           executor="ray", address=cluster.address)
    result = Sweep(options, trainer=trainer).run()
    watcher.join(timeout=5)
    assert os.path.exists(held)

    rows = result.rows
    done = [r for r in rows if r["status"] == "COMPLETE"]
    lost = [r for r in rows if r["status"] != "COMPLETE"]
    assert len(done) == 8 and result.done == 8  # the budget, each trial once
    points = [tuple(sorted(r["params"].items())) for r in done]
    assert len(set(points)) == 8  # nothing ran twice
    assert lost and all(is_interrupted(r) and "ray node died" in r["error"] for r in lost), lost
    assert {tuple(sorted(r["params"].items())) for r in lost} <= set(points)  # run again, same point
    study = optuna.load_study(study_name="nodes", storage=f"sqlite:///{results_in_tmp / 'tuneyard.db'}")
    on_second = {t.user_attrs["result"]["metrics"]["on_node"] for t in study.trials
                 if t.state.name == "COMPLETE"}
    assert on_second == {0.0, 1.0}  # trials ran on both nodes
