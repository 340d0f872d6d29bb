"""`python -m tuneyard ...` is the `tune` command."""

import os
import sys

# `python -m` puts the working directory first on the import path, where an optuna.py or
# yaml.py of the user's would replace the library; like the space's folder, it goes last.
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.append(sys.path.pop(0))

from tuneyard.cli.main import main  # noqa: E402 (after the path is set)

main()
