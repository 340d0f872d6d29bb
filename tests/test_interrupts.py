"""Ctrl-C during the runner's bookkeeping: the block finishes, then KeyboardInterrupt."""

import os
import signal

import pytest

from tuneyard.interrupts import interrupts_deferred


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
