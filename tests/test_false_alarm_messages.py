"""Messages of the precision work (issue 13): the call named is one that can really raise.

The fixtures check where findings sit; these check what the message says, for the shapes
whose old message named a call that cannot realistically fail (setsockopt instead of bind).
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import memlint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _messages(relative: str, function: str) -> List[str]:
    path = FIXTURES / relative
    source = path.read_text()
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines, 1) if line.startswith(f"def {function}("))
    end = next((i for i, line in enumerate(lines, 1) if i > start and line.startswith("def ")), len(lines) + 1)
    return [f.message for f in memlint.check_source(source, str(path)) if start <= f.line < end]


def test_bind_is_named_not_setsockopt() -> None:
    messages = _messages("MEM003/realistic_raisers.py", "bad_bind_after_setsockopt")
    assert len(messages) == 1
    assert "`sock.bind()` raises" in messages[0]


def test_connect_is_named_not_settimeout() -> None:
    messages = _messages("MEM003/realistic_raisers.py", "bad_connect_after_settimeout")
    assert len(messages) == 1
    assert "`sock.connect()` raises" in messages[0]


def test_write_is_named_not_umask() -> None:
    messages = _messages("MEM003/realistic_raisers.py", "bad_umask_then_write")
    assert len(messages) == 1
    assert "`os.write()` raises" in messages[0]


def test_async_close_asks_for_the_async_pair() -> None:
    source = (FIXTURES / "MEM042/async_release.py").read_text()
    messages = [f.message for f in memlint.check_source(source, "async_release.py") if f.code == "MEM042"]
    assert len(messages) == 4
    assert all("`__aenter__`/`__aexit__`" in m and "`async with`" in m for m in messages), messages


def test_no_loop_message_without_a_loop() -> None:
    source = (
        "import tempfile\n"
        "def copy(a):\n"
        "    with open(a) as src, tempfile.NamedTemporaryFile('w', delete=False) as out:\n"
        "        out.write(src.read())\n"
        "    return out.name\n"
    )
    messages = [f.message for f in memlint.check_source(source, "copy.py")]
    assert not any("loop iteration" in m for m in messages), messages
    assert not any(f.code == "MEM001" for f in memlint.check_source(source, "copy.py"))


def test_the_call_that_runs_first_is_named() -> None:
    """os.chown(p, int(owner)) runs int() first; os.chown's OSError is caught anyway."""
    messages = _messages("MEM003/realistic_raisers.py", "bad_chown_guarded_but_parse_is_not")
    assert len(messages) == 1
    assert "`int()` raises" in messages[0]
