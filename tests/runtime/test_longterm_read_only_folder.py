"""Issue 16, defect 7: a store on a read-only file system could not even be read.

A WAL database is read through its shared-memory file (``-shm``), which SQLite creates
next to it; where nothing can be created, the old code failed to open the file at all.
The test makes a real store, closes it (SQLite then removes ``-wal`` and ``-shm``), and
opens it in a child process that can read the folder but not write to it: as root
(whom permissions do not stop) the child gives up root for ``nobody`` after starting;
otherwise the folder and file are made read-only for their owner.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from longterm_backends import run_python

from memlint.runtime import LongTermMemory

NOBODY = 65534

READ_AS_OTHER_USER = """
import json, os, sys
from memlint.runtime import LongTermMemory
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid({nobody})
    os.setuid({nobody})
path = sys.argv[1]
try:
    open(path + "-shm", "ab").close()
    print(json.dumps({{"precondition": "the folder is writable"}}))
    sys.exit(0)
except OSError:
    pass
with LongTermMemory(path=path, retention_days=None) as memory:
    result = {{"read_only": memory.read_only, "kept": memory.get("kept"), "count": len(memory),
              "tagged": [entry["id"] for entry in memory.search_by_tag("t")]}}
    try:
        memory.store({{"text": "new"}})
        result["write"] = "accepted"
    except PermissionError:
        result["write"] = "refused"
print(json.dumps(result))
""".format(nobody=NOBODY)


def test_a_store_in_a_folder_nobody_may_write_is_still_readable(tmp_path: Path) -> None:
    # tmp_path's parents are private to their owner: use a folder that ``nobody`` can enter.
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "memory.sqlite3"
    with LongTermMemory(path=path, retention_days=None) as memory:
        memory.store({"id": "kept", "text": "hello", "tags": ["t"]})
        memory.store({"id": "other", "text": "world"})
    assert sorted(os.listdir(folder)) == ["memory.sqlite3"], "SQLite removes -wal and -shm on close"
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    opened = []
    try:
        if as_root:
            # ``nobody`` must be able to reach and read the file, and nothing more.
            for parent in [tmp_path, *tmp_path.parents]:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    opened.append((parent, mode))
                    parent.chmod(mode | stat.S_IXOTH)
            folder.chmod(0o755)
            path.chmod(0o644)
        else:
            path.chmod(0o444)
            folder.chmod(0o555)
        before = path.read_bytes()
        result = json.loads(run_python(READ_AS_OTHER_USER, str(path)))
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
        for parent, mode in reversed(opened):
            parent.chmod(mode)
    assert "precondition" not in result, result
    assert result["read_only"] is True
    assert result["kept"]["text"] == "hello" and result["count"] == 2
    assert result["tagged"] == ["kept"]
    assert result["write"] == "refused"
    assert path.read_bytes() == before
    assert sorted(os.listdir(folder)) == ["memory.sqlite3"]
