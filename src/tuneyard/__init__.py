"""tuneyard: one hyperparameter search space, every search strategy, one leaderboard."""

__version__ = "0.1.0"
