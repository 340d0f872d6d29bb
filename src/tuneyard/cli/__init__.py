"""The `tune` command line: the only package that prints, draws progress or exits.

The command is `tuneyard.cli.main:app`; importing that module (not this package) installs
the quiet TensorFlow import hook of the command's own process.
"""
