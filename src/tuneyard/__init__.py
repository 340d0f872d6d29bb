"""tuneyard: one hyperparameter search space, every search strategy, one leaderboard."""

from tuneyard import quiet_import

__version__ = "0.1.0"

quiet_import.install()
