"""The libraries' objects kept out of the garbage collector's walk, in tuneyard's own processes.

Keras' `clear_session()` runs a full garbage collection before every trial. A process that
holds TensorFlow, Keras, Optuna and pandas has some 700,000 objects for it to walk: 0.3 s
a trial measured on a 2-core machine, for a small MLP's trial of 2 s. In a process tuneyard
owns (a `tune` command, a worker process it spawned), what is alive once a trial's
libraries are loaded is collected once and frozen (`gc.freeze`): later collections walk only
what trials create, and a frozen object is still freed when nothing refers to it.

Never in a user's own process (`tuneyard.search`, a notebook): their collector is theirs.
"""

from __future__ import annotations

import gc
import sys

# A freeze again after this many more modules were imported (a trial's first fit loads
# parts of Keras and TensorFlow lazily); fewer are not worth a full collection.
NEW_MODULES = 50

_owned = [False]
_modules_at_freeze = [0]


def own_this_process() -> None:
    """Mark this process as tuneyard's own (the `tune` command, a worker it spawned)."""
    _owned[0] = True


def settle() -> bool:
    """Before a trial, after `clear_session()` (so no earlier trial's model is alive to be
    frozen, and kept, for good): in a process tuneyard owns, `freeze_what_is_alive()`;
    whether it froze."""
    return _owned[0] and freeze_what_is_alive()


def freeze_what_is_alive() -> bool:
    """Collect, then freeze what is alive, once NEW_MODULES more modules were imported since
    the last time; whether it froze. The caller knows that nothing alive now is garbage
    that only a later collection would find (settle(); the suite's between tests)."""
    if len(sys.modules) < _modules_at_freeze[0] + NEW_MODULES:
        return False
    gc.collect()
    gc.freeze()
    _modules_at_freeze[0] = len(sys.modules)
    return True
