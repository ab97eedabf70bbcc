"""The version, kept apart so that the build backend and `--version` read it without imports."""

__version__ = "0.1.0"
