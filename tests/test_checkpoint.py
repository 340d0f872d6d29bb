"""A trial's checkpoint (tuneyard.checkpoint) on real Keras models: what it refuses to load.

What a promotion continues from (weights, the optimizer's steps and moments) is tested
through the trainer in test_training.py; these are the files it must not load.
"""

import numpy as np
import pytest

from tuneyard.checkpoint import CheckpointUnreadable, load_checkpoint, save_checkpoint
from tuneyard.engine.ray_actor import _local_paths
from tuneyard.records.trial import Proposal


@pytest.mark.parametrize("parent", ["0003.ckpt", "0003.weights.h5"])
def test_a_ray_node_keeps_each_files_suffixes_which_say_how_it_loads(tmp_path, parent):
    driver = tmp_path / "driver"
    proposal = Proposal(params={}, epochs=3, warm_start=str(driver / parent),
                        save_to=str(driver / "0004.ckpt"),
                        save_best_to=str(driver / "candidates" / "7.keras"))
    local = _local_paths(proposal, {"warm_start": b"parent's"}, tmp_path)
    suffix = parent.split(".", 1)[1]
    assert (local.warm_start, local.save_to, local.save_best_to) == (
        str(tmp_path / f"parent.{suffix}"), str(tmp_path / "checkpoint.ckpt"),
        str(tmp_path / "best.keras"))
    assert (tmp_path / f"parent.{suffix}").read_bytes() == b"parent's"


def model(units: int = 4):
    import keras

    built = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units),
                              keras.layers.Dense(1)])
    built.compile(optimizer="adam", loss="mse")
    built.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=1, verbose=0)  # the optimizer's slots
    return built


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoint") / "0001.ckpt"
    save_checkpoint(model(), path)
    return path


@pytest.mark.slow  # Keras
@pytest.mark.parametrize("spoil, says", [
    (lambda data: data[:len(data) // 2], "cut short"),
    (lambda data: data + b"\0" * 16, "more data after its last array"),
    (lambda data: b"PK\x03\x04 a Keras file renamed", "not a tuneyard checkpoint"),
])
def test_a_spoiled_checkpoint_is_refused_in_one_line_naming_it(saved, tmp_path, spoil, says):
    path = tmp_path / "0002.ckpt"
    path.write_bytes(spoil(saved.read_bytes()))
    with pytest.raises(CheckpointUnreadable, match=says) as refused:
        load_checkpoint(model(), path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.slow  # Keras
def test_a_checkpoint_of_another_model_is_refused_and_leaves_the_model_as_it_was(saved):
    other = model(units=5)
    before = other.get_weights()
    with pytest.raises(CheckpointUnreadable, match="saved from another model"):
        load_checkpoint(other, saved)
    assert all((a == b).all() for a, b in zip(before, other.get_weights(), strict=True))


@pytest.mark.slow  # Keras
def test_a_checkpoint_is_written_whole_or_not_at_all(saved, tmp_path):
    path = tmp_path / "0003.ckpt"
    path.write_bytes(saved.read_bytes())

    class Unsaveable:  # its second array fails halfway through the file (as a full disk)
        optimizer = None

        def get_weights(self):
            return [np.ones(1000), np.array([object()], dtype=object)]

    with pytest.raises(ValueError, match="pickle"):
        save_checkpoint(Unsaveable(), path)
    assert path.read_bytes() == saved.read_bytes() and [p.name for p in tmp_path.iterdir()] == [
        "0003.ckpt"]
