"""A diagnosis's suggestion in the words of the study's own space.

The rules of `analysis/diagnosis.py` suggest knobs by kind (capacity, regularisation, the
learning rate). A space names its own: a sine space's depth is `lstm_layers`, not
`num_layers`. `for_space` rewrites a suggestion with the space's hyperparameters and fixed
settings of each kind, and a plain phrase where the space has none; the training settings
(`epochs`, `patience`, `lr_decay`) are every space's and keep their names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from tuneyard.analysis.diagnosis import SUGGESTIONS, Diagnosis

CAPACITY = frozenset({"units", "unit", "layers", "layer", "filters", "blocks", "width", "depth",
                      "hidden", "neurons", "channels", "heads"})
REGULARISERS = frozenset({"l1", "l2", "dropout"})


def _kind(names: Collection[str], test) -> list[str]:
    return sorted(n for n in names if test(n.lower(), n.lower().split("_")))


def _listed(names: list[str], word: str = ", ", limit: int = 4) -> str:
    return word.join(names[:limit])


def suggestion(label: str, names: Collection[str] | None) -> str:
    """The suggestion for `label`, naming the space's parameters (`names`: its
    hyperparameters and fixed settings); the generic text when they are unknown."""
    if not names or label not in SUGGESTIONS:
        return SUGGESTIONS.get(label, "")
    capacity = _kind(names, lambda n, parts: bool(CAPACITY & set(parts)))
    regs = _kind(names, lambda n, parts: bool(REGULARISERS & set(parts)) or n == "weight_decay")
    rates = _kind(names, lambda n, parts: "learning_rate" in n or "lr" in parts)
    rate = f"lower {_listed(rates, ' or ')}" if rates else "lower the learning rate"
    optimizer = " or use adam/adamw (optimizer)" if "optimizer" in names else ""
    raise_reg = (f"raise {_listed(regs, ' or ')}" if regs
                 else "regularise (dropout or L2 in the model)")
    lower_reg = f", lower {_listed(regs, '/')}" if regs else ""
    grow = f"add capacity ({_listed(capacity)})" if capacity else "add capacity (a larger model)"
    own = {
        "diverged": f"{rate} (try 10x smaller){optimizer}",
        "overfitting": f"{raise_reg}, or stop earlier (lower epochs or early stopping patience)",
        "oscillating": f"{rate} or enable lr_decay",
        "underfitting": f"{grow}{lower_reg}, or train longer (epochs)",
    }
    return own.get(label, SUGGESTIONS[label])


def for_space(d: Diagnosis, names: Collection[str] | None) -> Diagnosis:
    """`d` with its suggestion in the space's own parameter names."""
    if not names or d.suggestion != SUGGESTIONS.get(d.label):
        return d  # unknown names, or a suggestion a rule already made specific (a bound's)
    return replace(d, suggestion=suggestion(d.label, names))
