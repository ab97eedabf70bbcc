"""What the process holds right now: file descriptors and threads (children: ``processes``).

On Linux descriptors are read from ``/proc/self/fd`` (a directory listing and one
``readlink`` each: tens of microseconds). Elsewhere psutil supplies what it can, and what
it cannot read is listed in ``notes`` instead of being silently treated as clean.
psutil is imported here, so this module is only imported once leak checking is on.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Dict, FrozenSet, List, Optional, Union

import psutil

from memlint._leaks.processes import process

FdKey = Union[int, str]

_PROC_FD = "/proc/self/fd"
_HAVE_PROC_FD = sys.platform.startswith("linux") and os.path.isdir(_PROC_FD)


def read_fds(notes: List[str], baseline: bool = True) -> Dict[FdKey, Optional[str]]:
    """Open descriptors and what they point to (a path, ``socket:[inode]``, ``pipe:[...]``).

    On Linux the targets are left as ``None`` (not yet read): a check only needs to
    ``readlink`` the descriptors that are new, which keeps a clean test at one listing.
    A descriptor closed and reopened under the same number inside a check is therefore not
    seen as new. ``baseline=False`` skips checking that each listed descriptor is still open,
    for a listing that is only compared against a baseline.
    """
    if _HAVE_PROC_FD:
        entries = os.listdir(_PROC_FD)
        if not baseline:
            # ``new_fds`` reads each new target, which drops the listing's own descriptor.
            return dict.fromkeys(map(int, entries))
        found: Dict[FdKey, Optional[str]] = {}
        for entry in entries:
            fd = int(entry)
            try:
                # The listing's own descriptor is in the listing but already closed; left in
                # a baseline, its number would hide the next file the test opens.
                os.fstat(fd)
            except OSError:
                continue
            found[fd] = None
        return found
    return dict(_read_fds_with_psutil(notes))


def fd_target(key: FdKey, known: Optional[str]) -> Optional[str]:
    """What ``key`` points to, or ``None`` if it has been closed meanwhile."""
    if known is not None or not isinstance(key, int):
        return known
    try:
        # fstat first: much cheaper than readlink on /proc for the common closed case
        # (the listing's own descriptor shows up in every listing).
        os.fstat(key)
        return os.readlink(f"{_PROC_FD}/{key}")
    except OSError:
        return None


def new_fds(before: Dict[FdKey, Optional[str]], after: Dict[FdKey, Optional[str]]) -> Dict[FdKey, str]:
    """Descriptors of ``after`` that ``before`` did not have, with their targets."""
    found: Dict[FdKey, str] = {}
    for key, target in after.items():
        if key in before and (target is None or before[key] == target):
            continue
        resolved = fd_target(key, target)
        if resolved is not None:
            found[key] = resolved
    return found


def _read_fds_with_psutil(notes: List[str]) -> Dict[FdKey, str]:
    found: Dict[FdKey, str] = {}
    proc = process()
    try:
        for item in proc.open_files():
            found[item.fd if item.fd >= 0 else f"file:{item.path}"] = item.path
    except (psutil.AccessDenied, NotImplementedError) as error:
        _note(notes, f"open files are not readable on {sys.platform}: {error}")
    try:
        for conn in _connections(proc):
            key: FdKey = conn.fd if conn.fd >= 0 else f"socket:{conn.laddr}->{conn.raddr}"
            found[key] = f"socket:{_address_text(conn)}"
    except (psutil.AccessDenied, NotImplementedError) as error:
        _note(notes, f"sockets are not readable on {sys.platform}: {error}")
    return found


def read_threads() -> FrozenSet[threading.Thread]:
    """The live ``threading`` threads (threads made with ``_thread`` directly are not seen)."""
    return frozenset(threading.enumerate())


def socket_address(fd: FdKey, sock: Any) -> str:
    """``laddr -> raddr`` for a socket, from the object when we have it, else from psutil."""
    if sock is not None:
        try:
            local = sock.getsockname()
        except OSError:
            local = None
        try:
            remote = sock.getpeername()
        except OSError:
            remote = None
        return _pair_text(local, remote, sock.family, sock.type)
    try:
        for conn in _connections(process()):
            if conn.fd == fd:
                return _address_text(conn)
    except (psutil.AccessDenied, NotImplementedError):
        pass
    return "address unknown"


def _connections(proc: psutil.Process) -> List[Any]:
    method = getattr(proc, "net_connections", None) or proc.connections
    return list(method(kind="all"))


def _address_text(conn: Any) -> str:
    return _pair_text(conn.laddr or None, conn.raddr or None, conn.family, conn.type)


def _pair_text(local: Any, remote: Any, family: Any, kind: Any) -> str:
    def one(address: Any) -> str:
        if isinstance(address, tuple) and len(address) >= 2:
            host = address[0]
            return f"[{host}]:{address[1]}" if ":" in str(host) else f"{host}:{address[1]}"
        if isinstance(address, bytes):
            address = address.decode("utf-8", "replace")
        return str(address) if address else "unbound"

    family_name = getattr(family, "name", str(family))
    type_name = getattr(kind, "name", str(kind))
    text = one(local)
    if remote:
        text += f" -> {one(remote)}"
    return f"{text} ({family_name}, {type_name})"


def _note(notes: List[str], text: str) -> None:
    if text not in notes:
        notes.append(text)
