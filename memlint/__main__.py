"""``python -m memlint`` runs the command line."""

from memlint.cli import run

run()
