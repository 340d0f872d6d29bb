# %% [markdown]
# # tuneyard from Python: a search in a notebook
#
# A build function (params -> compiled Keras model), arrays and a dict space are all
# `tuneyard.search` needs. It runs the sweep `tune run` runs, into the same store
# (so `tune studies`, `tune leaderboard`, `tune report` work on it afterwards), and
# returns the ranked leaderboard, the best params and the best model.
#
# Run it as a script (`python examples/notebook.py`) or cell by cell in an editor that
# understands `# %%` cells (VS Code, PyCharm, Jupytext; in Jupyter the sweep's progress is
# one display, updated in place). About half a minute on 2 cores.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: no C++ chatter

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tuneyard

# %% [markdown]
# ## Data: scikit-learn's 8x8 digits, a test split held out
#
# tuneyard carves validation out of what it is given (stratified, by the space's
# `validation_split`); the test split below is never shown to it.

# %%
digits = load_digits()
x = (digits.data / 16.0).astype("float32")  # 64 pixels in [0, 1]
y = digits.target.astype("int64")
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y,
                                                    random_state=0)
print(f"train+validation: {x_train.shape}, test: {x_test.shape}")


# %% [markdown]
# ## The model: a build function reading its hyperparameters from `params`

# %%
def build_model(params):
    import keras

    model = keras.Sequential([keras.Input(shape=(64,))])
    for _ in range(params["layers"]):
        model.add(keras.layers.Dense(params["units"], activation="relu"))
        model.add(keras.layers.Dropout(params["dropout"]))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# %% [markdown]
# ## The space and the search
#
# The same fields as a space YAML file. `fresh=True` deletes an earlier study of the
# same name, so re-running the notebook starts over.

# %%
space = {
    "objective": {"metric": "val_accuracy", "direction": "maximize"},
    "training": {"epochs": 5, "batch_size": 32, "patience": 2, "validation_split": 0.2},
    "hyperparameters": {
        "units": {"type": "int", "low": 16, "high": 128, "step": 16},
        "layers": {"type": "int", "low": 1, "high": 2},
        "dropout": {"type": "float", "low": 0.0, "high": 0.4},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    },
}
result = tuneyard.search(build_model, data=(x_train, y_train), space=space, backend="tpe",
                         trials=6, seed=0, study="notebook-digits", fresh=True)

# %% [markdown]
# ## What it found

# %%
columns = [c for c in ("rank", "trial", *space["hyperparameters"], "val_accuracy", "epochs",
                       "status") if c in result.leaderboard.columns]
print(result.leaderboard[columns].head().to_string(index=False))
print("best params:", result.best_params)
print(f"best val_accuracy: {result.best_value:.4f}")

# %% [markdown]
# ## The best model on the held-out test split
#
# `result.evaluate(test=...)` scores the model the sweep kept (the best trial at its best
# epoch) on data no trial saw, as `tune evaluate` does, and stores the scores with the
# study (`tune report` shows them). `result.best_model` is that model, loaded.

# %%
scores = result.evaluate(test=(x_test, y_test))
print(f"test accuracy of the best model: {scores['accuracy']:.4f} on {scores['test_samples']} "
      "held-out digits")
print(f"study {result.study}; model file {result.model_path}")
