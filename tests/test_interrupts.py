"""Ctrl-C during the runner's bookkeeping: the block finishes, then KeyboardInterrupt."""

import os
import signal

import pytest

from tuneyard.engine.interrupts import interrupts_deferred


def test_a_sigint_inside_the_block_is_raised_after_it_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_signal_nothing_is_raised_and_the_handler_is_restored():
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):  # outside the block Ctrl-C acts at once again
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):
            pass


def test_a_swallowed_interrupt_is_raised_again_at_the_next_check(capsys, monkeypatch):
    import sys

    from tuneyard.engine.interrupts import interrupts_watched, raise_if_interrupted

    # Python's own hook prints "Exception ignored in ..." to stderr (pytest's would warn).
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)

    class Finalized:
        def __del__(self):  # Python prints and drops an exception raised here
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass

    with interrupts_watched():
        Finalized()  # the KeyboardInterrupt is raised inside __del__ and swallowed
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    raise_if_interrupted()  # outside the block nothing is remembered
    assert "KeyboardInterrupt" not in capsys.readouterr().err  # no "Exception ignored" text
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
