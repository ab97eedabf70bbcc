"""MEM003's raise model for project functions of other modules (issue 13, class
non-raising-call): a function whose work sits in ``with contextlib.suppress(Exception):`` or
in ``try: ... except Exception: pass`` cannot raise, whatever the block calls; one that
suppresses a narrower type, or handles with a call, or does more after the block, can."""

from __future__ import annotations

from test_quiet_project_functions import _verdicts


def test_a_block_that_swallows_every_exception_makes_the_function_quiet():
    source = (
        "import contextlib\n"
        "from contextlib import suppress\n"
        "def nodelay(sock):\n    '''doc'''\n    with contextlib.suppress(Exception):\n        sock.setsockopt(1, 2, 3)\n"
        "def tuned(sock, o):\n    with suppress(OSError, BaseException):\n        sock.setsockopt(*o)\n"
        "def tried(sock):\n    try:\n        sock.setsockopt(1, 2, 3)\n    except Exception:\n        pass\n"
        "def narrow(sock):\n    with contextlib.suppress(OSError):\n        sock.setsockopt(1, 2, 3)\n"
        "def narrow_try(sock):\n    try:\n        sock.setsockopt(1, 2, 3)\n    except OSError:\n        pass\n"
        "def handler_calls(sock):\n    try:\n        sock.setsockopt(1, 2, 3)\n    except Exception:\n        sock.close()\n"
        "def handler_raises(sock):\n    try:\n        sock.setsockopt(1, 2, 3)\n    except Exception:\n        raise\n"
        "def with_finally(sock):\n    try:\n        sock.setsockopt(1, 2, 3)\n    except Exception:\n        pass\n    finally:\n        sock.detach()\n"
        "def after(sock, o):\n    with contextlib.suppress(Exception):\n        sock.setsockopt(1, 2, 3)\n    return o[1]\n"
        "def other_manager(sock, lock):\n    with lock:\n        sock.setsockopt(1, 2, 3)\n"
    )
    assert _verdicts(source) == {
        "nodelay": True, "tuned": True, "tried": True,
        "narrow": False, "narrow_try": False, "handler_calls": False, "handler_raises": False,
        "with_finally": False, "after": False, "other_manager": False,
    }
