"""engine/fit_thread.py: a fit on a fresh thread returns, fails and is stopped as it would be
in place. The fits here are plain Python stand-ins: what is tested is the thread's handling."""

import threading
import time
import traceback

import pytest

from tuneyard.engine import fit_thread
from tuneyard.engine.deadline import TrialTimedOut, stop_at
from tuneyard.engine.fit_thread import fit_on_fresh_thread


@pytest.fixture
def no_polling(monkeypatch):
    """The waiting thread's safety poll set to an hour: what stops the fit must wake it."""
    monkeypatch.setattr(fit_thread, "WAIT_SECONDS", 3600)


def test_the_fit_runs_on_another_thread_and_its_value_comes_back():
    def fit(epochs):
        return threading.current_thread().name, epochs

    assert fit_on_fresh_thread(fit, epochs=3) == ("tuneyard-fit", 3)


def test_the_fits_error_is_raised_here_with_its_own_traceback():
    def broken_fit():
        raise ValueError("the model is not compiled")

    with pytest.raises(ValueError, match="not compiled") as caught:
        fit_on_fresh_thread(broken_fit)
    names = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert "broken_fit" in names  # the user's line stays findable (user_errors.py)


def endless_fit(ended: list) -> None:
    try:
        while True:  # a fit that only an exception raised into it stops
            time.sleep(0.01)
    finally:
        ended.append(threading.current_thread().name)


def test_a_time_limit_in_the_waiting_thread_stops_the_fit_before_it_is_raised(no_polling):
    ended: list = []
    with pytest.raises(TrialTimedOut), stop_at(time.monotonic() + 0.2, lambda: TrialTimedOut):
        fit_on_fresh_thread(endless_fit, ended=ended)
    assert ended == ["tuneyard-fit"]  # the fit's thread ended before the caller went on
    assert not [t for t in threading.enumerate() if t.name == "tuneyard-fit"]


def test_a_time_limit_raised_into_a_thread_that_is_not_the_main_one_stops_it_too(no_polling):
    # tuneyard.search called from a thread: the limit is an exception raised into it, which
    # wakes the thread's wait (it runs no Python instruction while it waits).
    ended, seen = [], []

    def caller():
        try:
            with stop_at(time.monotonic() + 0.2, lambda: TrialTimedOut):
                fit_on_fresh_thread(endless_fit, ended=ended)
        except TrialTimedOut as exc:
            seen.append(exc)

    thread = threading.Thread(target=caller, daemon=True)  # a failure here must not hang pytest
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(seen) == 1 and ended == ["tuneyard-fit"]
