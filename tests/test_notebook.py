"""`tuneyard.search` in a real Jupyter kernel (nbclient + ipykernel): one progress display
per sweep, updated in place, no output per trial, no warning, and evaluate() on the test
split. The kernel is this venv's Python (the `python3` kernel of the ipykernel installed
beside it) with this checkout's source (PYTHONPATH is inherited)."""

import os
import sys
import textwrap

import nbclient  # the dev extra's: a missing one fails here, never skips
import nbformat
import pytest

CELLS = [
    f"""
    import sys
    assert sys.executable == {sys.executable!r}, sys.executable  # this venv's Python
    import numpy as np
    import tuneyard

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    """,
    """
    def build_model(params):
        import keras

        model = keras.Sequential([keras.Input(shape=(4,)),
                                  keras.layers.Dense(params["units"], activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    """,
    """
    result = tuneyard.search(build_model, data={"train": (x[:100], y[:100]),
                                                "test": (x[100:], y[100:])},
                             space={"hyperparameters": {"units": {"type": "choice",
                                                                  "values": [2, 8]}},
                                    "objective": {"metric": "val_accuracy",
                                                  "direction": "maximize"},
                                    "training": {"epochs": 2, "batch_size": 32}},
                             backend="grid", trials=2, epochs=1)
    """,
    """
    scores = result.evaluate()
    again = result.evaluate(test=(x[:40], y[:40]))
    print(result.study, len(result.leaderboard), scores["test_samples"], again["test_samples"],
          0 <= scores["accuracy"] <= 1)
    """,
]


def run_notebook(folder):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in CELLS]
    client = nbclient.NotebookClient(book, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return book


@pytest.mark.slow
def test_a_search_in_a_notebook_shows_one_live_display_and_no_warnings(tmp_path, monkeypatch):
    # What Jupyter tells a kernel about its notebook: the study is named after it.
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "wine analysis.ipynb"))
    # The suite's own quieting of TensorFlow is off: what the user would see, search hides.
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    book = run_notebook(tmp_path)
    outputs = [o for cell in book.cells for o in cell.outputs]
    streams = [o for o in outputs if o.output_type == "stream"]
    # No warning, log line or error anywhere: the only stream is the last cell's print.
    assert [o.name for o in streams] == ["stdout"], [o.get("text") for o in streams]
    assert not [o for o in outputs if o.output_type == "error"]
    search_cell = book.cells[2].outputs
    assert len(search_cell) == 1 and search_cell[0].output_type == "display_data"
    shown = search_cell[0].data
    # The one display was updated in place to the sweep's end: every trial done.
    assert shown["text/plain"].startswith("trials 2/2  best "), shown["text/plain"]
    assert '<progress value="2" max="2"' in shown["text/html"]
    assert "trial 0" not in shown["text/plain"]  # the running trials' lines are gone
    study, rows, tested, retested, fraction = streams[0].text.split()
    assert study.startswith("build_model-wine_analysis-") and study.endswith("-grid-s0")
    assert (rows, tested, retested, fraction) == ("2", "20", "40", "True")
