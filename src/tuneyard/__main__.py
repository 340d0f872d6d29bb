"""`python -m tuneyard ...` is the `tune` command."""

from tuneyard.cli import main

main()
