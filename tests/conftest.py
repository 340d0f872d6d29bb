"""Shared fixtures: every test writes its results into its own temporary folder."""

import os
import signal

import pytest

# A suite started in the background (`make test &`, nohup) inherits SIGINT ignored, and so
# would every `tune` process it starts (an ignored signal stays ignored across exec): the
# Ctrl-C tests need what a terminal gives, the default handler.
signal.signal(signal.SIGINT, signal.default_int_handler)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    """Studies, leaderboards and backend state go to tmp_path/results, never the repo."""
    folder = tmp_path / "results"
    monkeypatch.setenv("TUNEYARD_RESULTS_DIR", str(folder))
    return folder
