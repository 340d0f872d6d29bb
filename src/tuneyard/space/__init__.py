"""Search spaces: the model of a space, its file, its rules, its grid, its data, and its translations
to Optuna and Keras Tuner.
"""
