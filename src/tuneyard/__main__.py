"""`python -m tuneyard ...` is the `tune` command."""

from tuneyard.cli.main import main

main()
