"""The `tune` command line: the only package that prints, draws progress or exits."""

from tuneyard.cli.main import app, main

__all__ = ["app", "main"]
