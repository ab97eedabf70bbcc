"""Which acquisitions a ``with`` can take over, and which uses of a resource leave nothing behind.

Data, not code, like the resource table it complements (``memlint.analysis.resources``).
A call missing here that the resource knowledge models gets a cautious entry derived
from the model (``memlint.fixes.derived``); the others are still reported, just never fixed. DB-API connections get
``contextlib.closing``: their own ``with`` commits or rolls back a transaction and (except
psycopg 3) does not close, so it is not the same as ``close()``. Left out on purpose:

- ``tempfile.TemporaryDirectory``: ``with`` binds the *path*, not the object;
- ``multiprocessing.Pool``: ``__exit__`` terminates the workers where ``close()`` lets them
  finish;
- ``mkstemp``, ``mkdtemp``, ``os.open``, ``os.pipe``, ``socket.accept``,
  ``asyncio.open_connection``: a descriptor, a path or a tuple, not one closable object;
- module-local factories and classes: what their ``__enter__`` returns is not checked here
  (``memlint.fixes.context`` and ``memlint.fixes.own_classes`` read those whose ``with`` is
  plainly their release).
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from memlint.fixes.model import Manageable

_CLOSE = frozenset({"close"})


def _file(stem: str = "f", mode_args: Tuple[int, ...] = (1,)) -> Manageable:
    """A file-like object: closing early is unobservable when it is only read."""
    return Manageable(_CLOSE, stem=stem, quiet=True, mode_args=mode_args)


def _loud(stem: str) -> Manageable:
    """Closing it is visible to others (a peer sees the socket close, a map is unmapped)."""
    return Manageable(_CLOSE, stem=stem)


def _socket() -> Manageable:
    """Others see a socket while it is open (a client connects to a listening one)."""
    return Manageable(_CLOSE, stem="sock", lasting=True)


def _closing(stem: str) -> Manageable:
    return Manageable(_CLOSE, stem=stem, closing=True)


# requests and httpx read the whole response body unless ``stream=True`` is passed.
_EAGER_HTTP = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send"})
_EXECUTOR = frozenset({"submit", "map"})
# shelve and dbm objects are mappings: what they hand out is a copy.
_MAPPING = frozenset({"get", "keys", "values", "items", "setdefault", "pop", "update"})


def _mapping(stem: str) -> Manageable:
    return Manageable(_CLOSE, stem=stem, detaching=_MAPPING, quiet=True, mode_args=(1,))


MANAGEABLE: Dict[str, Manageable] = {
    "open": _file(),
    "io.open": _file(),
    "io.open_code": _file(mode_args=()),
    "io.FileIO": _file(),
    "codecs.open": _file(),
    "gzip.open": _file(),
    "gzip.GzipFile": _file(),
    "bz2.open": _file(),
    "bz2.BZ2File": _file(),
    "lzma.open": _file(),
    "lzma.LZMAFile": _file(),
    "tokenize.open": _file(mode_args=()),
    "os.fdopen": Manageable(_CLOSE, stem="f", owns=((0, "fd"),)),
    "tarfile.open": _file("archive"),
    "tarfile.TarFile": _file("archive"),
    "tarfile.TarFile.open": _file("archive"),
    "zipfile.ZipFile": _file("archive"),
    "zipfile.PyZipFile": _file("archive"),
    "shelve.open": Manageable(_CLOSE, stem="shelf", detaching=_MAPPING),
    "wave.open": _loud("wav"),
    "fileinput.input": _loud("stream"),
    "fileinput.FileInput": _loud("stream"),
    # ``name`` is the descriptor number of an unnamed temporary file, or the path that
    # closing a named one deletes (unless ``delete=False``).
    "tempfile.TemporaryFile": Manageable(_CLOSE, stem="tmp", vanishing=frozenset({"name"})),
    "tempfile.NamedTemporaryFile": Manageable(_CLOSE, stem="tmp", vanishing=frozenset({"name"})),
    "tempfile.SpooledTemporaryFile": _loud("tmp"),
    "os.scandir": _file("entries", mode_args=()),
    "mmap.mmap": _loud("mapped"),
    "select.epoll": _file("poller", mode_args=()),
    "selectors.DefaultSelector": _file("selector", mode_args=()),
    "selectors.SelectSelector": _file("selector", mode_args=()),
    "selectors.PollSelector": _file("selector", mode_args=()),
    "selectors.EpollSelector": _file("selector", mode_args=()),
    "selectors.KqueueSelector": _file("selector", mode_args=()),
    "socket.socket": Manageable(_CLOSE, stem="sock", owns=((3, "fileno"),), lasting=True),
    "socket.create_connection": _socket(),
    "socket.create_server": _socket(),
    "socket.fromfd": _socket(),
    "ssl.wrap_socket": _socket(),
    "urllib.request.urlopen": _file("response", mode_args=()),
    "requests.Session": Manageable(_CLOSE, stem="session", detaching=_EAGER_HTTP, quiet=True),
    "requests.session": Manageable(_CLOSE, stem="session", detaching=_EAGER_HTTP, quiet=True),
    "httpx.Client": Manageable(_CLOSE, stem="client", detaching=_EAGER_HTTP, quiet=True),
    "os.popen": _loud("pipe"),
    "dbm.open": _mapping("db"),
    "dbm.gnu.open": _mapping("db"),
    "dbm.ndbm.open": _mapping("db"),
    "dbm.dumb.open": _mapping("db"),
    "concurrent.futures.ThreadPoolExecutor": Manageable(frozenset({"shutdown"}), stem="executor", detaching=_EXECUTOR),
    "concurrent.futures.ProcessPoolExecutor": Manageable(frozenset({"shutdown"}), stem="executor", detaching=_EXECUTOR),
    "concurrent.futures.thread.ThreadPoolExecutor": Manageable(
        frozenset({"shutdown"}), stem="executor", detaching=_EXECUTOR
    ),
    "concurrent.futures.process.ProcessPoolExecutor": Manageable(
        frozenset({"shutdown"}), stem="executor", detaching=_EXECUTOR
    ),
    # closed through contextlib.closing (see above)
    "sqlite3.connect": _closing("conn"),
    "psycopg.connect": _closing("conn"),
    "psycopg2.connect": _closing("conn"),
    "pymysql.connect": _closing("conn"),
    "MySQLdb.connect": _closing("conn"),
    "mysql.connector.connect": _closing("conn"),
    "http.client.HTTPConnection": _closing("conn"),
    "http.client.HTTPSConnection": _closing("conn"),
    "logging.FileHandler": _closing("handler"),
    "logging.handlers.RotatingFileHandler": _closing("handler"),
    "logging.handlers.TimedRotatingFileHandler": _closing("handler"),
    "logging.handlers.WatchedFileHandler": _closing("handler"),
    "multiprocessing.Manager": Manageable(frozenset({"shutdown"}), stem="manager"),
    # __exit__ also closes the pipes, and waits even when the body raised (it may block).
    "subprocess.Popen": Manageable(
        frozenset({"wait"}), safe=False, stem="proc", finishing=frozenset({"communicate", "wait"})
    ),
    # __exit__ sends QUIT and closes, like quit(), but swallows a failing QUIT.
    "smtplib.SMTP": Manageable(frozenset({"quit"}), safe=False, stem="smtp"),
    "smtplib.SMTP_SSL": Manageable(frozenset({"quit"}), safe=False, stem="smtp"),
    "ftplib.FTP": Manageable(frozenset({"quit"}), safe=False, stem="ftp"),
    "ftplib.FTP_TLS": Manageable(frozenset({"quit"}), safe=False, stem="ftp"),
    # async
    "aiohttp.ClientSession": Manageable(_CLOSE, is_async=True, stem="session", quiet=True),
    "httpx.AsyncClient": Manageable(
        frozenset({"aclose"}), is_async=True, stem="client", detaching=_EAGER_HTTP, quiet=True
    ),
    "aiofiles.open": Manageable(_CLOSE, is_async=True, awaited=True, stem="f", quiet=True, mode_args=(1,)),
}

# Methods that create a resource from an object of a known kind (no qualified name).
MANAGEABLE_METHODS: Dict[str, Manageable] = {
    "open": _file(mode_args=(0, 1)),  # pathlib.Path.open(mode), ZipFile.open(name, mode)
    "wrap_socket": _socket(),
    "makefile": _loud("f"),
}

# Uses of a resource whose result holds no reference to it: ``f.read()`` is a plain
# string, ``csv.reader(f)`` is not (it reads ``f`` lazily, later).
DETACHING_METHODS: FrozenSet[str] = frozenset(
    {
        "read", "read1", "readline", "readlines", "readinto", "readinto1", "write", "writelines",
        "flush", "seek", "tell", "truncate", "isatty", "readable", "writable", "seekable",
        "send", "sendall", "sendto", "recv", "recvfrom", "recv_into", "connect", "bind", "listen",
        "settimeout", "setsockopt", "getsockname", "getpeername", "setblocking", "shutdown",
        "namelist", "infolist", "getinfo", "writestr", "extractall", "extract", "testzip",
        "getnames", "getmembers", "getmember", "add", "addfile", "setnchannels", "setsampwidth",
        "setframerate", "writeframes", "readframes", "getnframes", "getparams", "register",
        "unregister", "select", "modify", "json", "text", "fetchall", "fetchone", "fetchmany",
        "getcode", "geturl", "info", "getheader", "getheaders", "poll", "kill", "terminate",
        "send_signal", "sendmail", "send_message", "login", "ehlo", "starttls", "retrlines",
        "retrbinary", "storbinary", "storlines", "cwd", "nlst", "dir", "size", "find", "rfind",
        "locked", "commit", "rollback", "executescript", "setFormatter", "setLevel", "emit",
        "flush", "putrequest", "putheader", "endheaders", "set_debuglevel", "get_server_info",
    }
)
DETACHING_ATTRIBUTES: FrozenSet[str] = frozenset(
    {
        "name", "mode", "closed", "encoding", "errors", "newlines", "pid", "returncode", "status", "headers",
        "url", "server_version", "total_changes", "in_transaction",
        # An HTTP response's status line: an int and a str (requests, httpx), copied out.
        "status_code", "reason",
    }
)
# Calls that consume a resource completely before returning a value that does not hold it.
EAGER_CONSUMERS: FrozenSet[str] = frozenset(
    {
        "json.load", "pickle.load", "marshal.load", "tomllib.load", "tomli.load", "plistlib.load",
        "json.dump", "pickle.dump", "marshal.dump", "plistlib.dump", "shutil.copyfileobj",
        "hashlib.file_digest", "list", "tuple", "sorted", "set", "frozenset", "len", "sum", "max",
        "min", "any", "all", "print", "str", "repr", "bytes", "bytearray", "isinstance", "id",
        "hash", "bool", "next", "os.fstat", "os.fsync", "os.read", "os.write", "os.isatty", "select.select",
        # Parsers that read the whole stream before returning (not the ``*_all``/``iterparse``
        # ones, which read lazily, nor ``numpy.load``, whose ``.npz`` result reads later).
        "yaml.load", "yaml.safe_load", "yaml.full_load", "yaml.unsafe_load", "toml.load",
        "xml.etree.ElementTree.parse", "xml.dom.minidom.parse", "numpy.loadtxt",
    }
)
# Calls that take a lock (or set a state) on an open file that lasts until it is closed:
# the ``with`` may not end before the code that the lock guards.
LOCKING_CALLS: FrozenSet[str] = frozenset({"fcntl.flock", "fcntl.lockf", "fcntl.fcntl", "fcntl.ioctl", "msvcrt.locking"})
# Methods whose result is only valid while the object is open: ``f.fileno()`` is a
# descriptor number that closing frees (and the system may hand out again).
ATTACHED_METHODS: FrozenSet[str] = frozenset({"fileno"})
# Calls that read the resource given as their first argument lazily, as they are iterated
# (``csv.reader(f)``): no fix alone, but drained at once by one of ``DRAINING_CONSUMERS``
# around them, within the statement, after which nothing holds the resource.
LAZY_READERS: FrozenSet[str] = frozenset({"csv.reader", "csv.DictReader", "enumerate"})
# Calls that iterate their (first) argument to the end, or stop early and drop it, before
# returning a value that holds plain data.
DRAINING_CONSUMERS: FrozenSet[str] = frozenset(
    {"list", "tuple", "sorted", "set", "frozenset", "dict", "sum", "max", "min", "any", "all"}
)
# DB-API connection methods whose result, a cursor, keeps a reference to the connection
# (``cursor.connection``): a method called on it runs while the code still held the
# connection open, so a ``with`` that closes at the end of the statement closes no later.
CURSOR_METHODS: FrozenSet[str] = frozenset({"execute", "executemany"})
