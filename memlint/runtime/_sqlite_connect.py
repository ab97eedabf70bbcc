"""Opening an SQLite connection for memlint, and the small helpers around it.

Split from ``_sqlite`` (which keeps the ``_Database`` class and the store backend): how a
path is opened (read-write, read-only, or immutable on a read-only file system), how a
schema script is split into statements, and how SQLite's errors name the file.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from typing import List


def error_naming_path(error: sqlite3.Error, path: str) -> sqlite3.Error:
    """``error`` with the database path in its message (once)."""
    message = str(error)
    if path in message:
        return error
    named = type(error)(f"{path}: {message}")
    for attribute in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(error, attribute):
            try:
                setattr(named, attribute, getattr(error, attribute))
            except AttributeError:  # pragma: no cover - read-only on some versions
                pass
    return named


def cannot_write(path: str) -> bool:
    """True when ``path`` exists but this process cannot write it or its folder (WAL needs both)."""
    if not os.path.exists(path):
        return False
    folder = os.path.dirname(os.path.abspath(path))
    return not (os.access(path, os.W_OK) and os.access(folder, os.W_OK))


def connect(path: str, busy_timeout: float, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        return sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist (opened read-only, so it is not created)")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except BaseException as error:
        conn.close()
        if not isinstance(error, sqlite3.OperationalError):
            raise
    # A WAL database on a read-only file system: SQLite cannot create the shared-memory
    # file, so the file is read as immutable (nobody can be writing to it there).
    return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)


def split_statements(script: str) -> List[str]:
    """Split a schema script into statements (triggers contain ``;`` inside BEGIN..END)."""
    statements: List[str] = []
    current: List[str] = []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0].rstrip()
        if not stripped:
            continue
        current.append(stripped)
        text = "\n".join(current)
        if text.endswith(";") and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    if current:
        raise ValueError("incomplete SQL statement in schema")
    return statements
