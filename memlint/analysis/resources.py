"""The resource table: which calls create a resource and how each one is released.

Data, not code. Keys are qualified names as written after import aliases are resolved
(``import socket as s``; ``s.socket()`` is ``socket.socket``). Users add entries with
``[tool.memlint.resources] "mylib.connect" = "close"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, Mapping, Tuple


@dataclass(frozen=True)
class ResourceSpec:
    """How one kind of resource behaves."""

    # What a person calls it, used in messages: "file", "socket", "database connection".
    kind: str
    # Methods on the object that release it (``with`` and ``__exit__`` always do).
    release: FrozenSet[str] = frozenset()
    # Functions that release it when given it as an argument (``os.close(fd)``).
    release_funcs: FrozenSet[str] = frozenset()
    # Typically kept for the life of the program (executors, sessions): a module-level
    # global of this kind is not reported.
    long_lived: bool = False
    # A path on disk rather than an object: handing the string to a call is only a use.
    is_path: bool = False
    # For calls that return a tuple: (index, spec) of the parts that are resources.
    parts: Tuple[Tuple[int, "ResourceSpec"], ...] = field(default=())
    # The verb used in messages ("closed", "removed", "waited for", ...).
    verb: str = "closed"


def _spec(kind: str, *release: str, **extra: object) -> ResourceSpec:
    return ResourceSpec(kind, frozenset(release), **extra)  # type: ignore[arg-type]


FILE = _spec("file", "close", "detach")
SOCKET = _spec("socket", "close", "detach")
SSL_SOCKET = _spec("TLS socket", "close", "detach", "unwrap")
FD = ResourceSpec("file descriptor", release_funcs=frozenset({"os.close", "os.fdopen", "open", "io.open", "socket.socket", "socket.fromfd", "mmap.mmap"}))
TEMP_PATH = ResourceSpec(
    "temporary file",
    release_funcs=frozenset({"os.unlink", "os.remove", "os.rename", "os.replace", "shutil.move", "os.renames"}),
    is_path=True,
    verb="removed",
)
TEMP_DIR_PATH = ResourceSpec(
    "temporary directory",
    release_funcs=frozenset({"shutil.rmtree", "os.rmdir", "os.removedirs", "shutil.move", "os.rename", "os.replace"}),
    is_path=True,
    verb="removed",
)
# terminate() and kill() only signal: without wait() the child is never reaped.
PROCESS = _spec("process", "wait", "communicate", verb="waited for")
POOL = _spec("process pool", "close", "terminate", "join", long_lived=True, verb="shut down")
MANAGER = _spec("multiprocessing manager", "shutdown", long_lived=True, verb="shut down")
EXECUTOR = _spec("executor", "shutdown", long_lived=True, verb="shut down")
DB = _spec("database connection", "close")
HTTP = _spec("HTTP connection", "close")
SESSION = _spec("HTTP session", "close", "aclose", long_lived=True)
STREAM_WRITER = _spec("stream writer", "close", "abort")
LOCK = _spec("lock", "release", verb="released")

RESOURCE_CALLS: Dict[str, ResourceSpec] = {
    # files
    "open": FILE,
    "io.open": FILE,
    "io.open_code": FILE,
    "io.FileIO": FILE,
    "codecs.open": FILE,
    "pathlib.Path.open": FILE,
    "gzip.open": FILE,
    "gzip.GzipFile": FILE,
    "bz2.open": FILE,
    "bz2.BZ2File": FILE,
    "lzma.open": FILE,
    "lzma.LZMAFile": FILE,
    "tarfile.open": _spec("tar archive", "close"),
    "tarfile.TarFile": _spec("tar archive", "close"),
    "tarfile.TarFile.open": _spec("tar archive", "close"),
    "zipfile.ZipFile": _spec("zip archive", "close"),
    "zipfile.PyZipFile": _spec("zip archive", "close"),
    "shelve.open": _spec("shelf", "close"),
    "dbm.open": _spec("dbm database", "close"),
    "dbm.gnu.open": _spec("dbm database", "close"),
    "dbm.ndbm.open": _spec("dbm database", "close"),
    "dbm.dumb.open": _spec("dbm database", "close"),
    "wave.open": _spec("wave file", "close"),
    "aifc.open": _spec("audio file", "close"),
    "sunau.open": _spec("audio file", "close"),
    "tokenize.open": FILE,
    "fileinput.input": _spec("fileinput stream", "close"),
    "fileinput.FileInput": _spec("fileinput stream", "close"),
    "logging.FileHandler": _spec("log file handler", "close", long_lived=True),
    "logging.handlers.RotatingFileHandler": _spec("log file handler", "close", long_lived=True),
    "logging.handlers.TimedRotatingFileHandler": _spec("log file handler", "close", long_lived=True),
    "logging.handlers.WatchedFileHandler": _spec("log file handler", "close", long_lived=True),
    "aiofiles.open": FILE,
    # temporary files and directories
    "tempfile.TemporaryFile": _spec("temporary file", "close"),
    "tempfile.NamedTemporaryFile": _spec("temporary file", "close"),
    "tempfile.SpooledTemporaryFile": _spec("temporary file", "close"),
    "tempfile.TemporaryDirectory": _spec("temporary directory", "cleanup", verb="cleaned up"),
    "tempfile.mkstemp": ResourceSpec("temporary file", parts=((0, FD), (1, TEMP_PATH))),
    "tempfile.mkdtemp": TEMP_DIR_PATH,
    # descriptors and OS handles
    "os.open": FD,
    "os.fdopen": FILE,
    "os.popen": _spec("pipe", "close"),
    "os.scandir": _spec("directory iterator", "close"),
    "os.pipe": ResourceSpec("pipe", parts=((0, FD), (1, FD))),
    "mmap.mmap": _spec("memory map", "close"),
    "select.epoll": _spec("epoll object", "close"),
    "select.kqueue": _spec("kqueue object", "close"),
    "select.devpoll": _spec("devpoll object", "close"),
    # sockets and network clients
    "socket.socket": SOCKET,
    "socket.create_connection": SOCKET,
    "socket.create_server": SOCKET,
    "socket.fromfd": SOCKET,
    "socket.socketpair": ResourceSpec("socket", parts=((0, SOCKET), (1, SOCKET))),
    "ssl.wrap_socket": SSL_SOCKET,
    "selectors.DefaultSelector": _spec("selector", "close"),
    "selectors.SelectSelector": _spec("selector", "close"),
    "selectors.PollSelector": _spec("selector", "close"),
    "selectors.EpollSelector": _spec("selector", "close"),
    "selectors.DevpollSelector": _spec("selector", "close"),
    "selectors.KqueueSelector": _spec("selector", "close"),
    "http.client.HTTPConnection": HTTP,
    "http.client.HTTPSConnection": HTTP,
    "urllib.request.urlopen": _spec("HTTP response", "close"),
    "ftplib.FTP": _spec("FTP connection", "close", "quit"),
    "ftplib.FTP_TLS": _spec("FTP connection", "close", "quit"),
    "smtplib.SMTP": _spec("SMTP connection", "close", "quit"),
    "smtplib.SMTP_SSL": _spec("SMTP connection", "close", "quit"),
    "smtplib.LMTP": _spec("SMTP connection", "close", "quit"),
    "poplib.POP3": _spec("POP3 connection", "close", "quit"),
    "poplib.POP3_SSL": _spec("POP3 connection", "close", "quit"),
    "imaplib.IMAP4": _spec("IMAP connection", "logout", "shutdown"),
    "imaplib.IMAP4_SSL": _spec("IMAP connection", "logout", "shutdown"),
    "telnetlib.Telnet": _spec("telnet connection", "close"),
    "asyncio.open_connection": ResourceSpec("stream", parts=((1, STREAM_WRITER),)),
    "asyncio.open_unix_connection": ResourceSpec("stream", parts=((1, STREAM_WRITER),)),
    "requests.Session": SESSION,
    "requests.session": SESSION,
    "httpx.Client": SESSION,
    "httpx.AsyncClient": SESSION,
    "aiohttp.ClientSession": SESSION,
    "urllib3.PoolManager": SESSION,
    # databases
    "sqlite3.connect": DB,
    "psycopg.connect": DB,
    "psycopg.Connection.connect": DB,
    "psycopg.AsyncConnection.connect": DB,
    "psycopg2.connect": DB,
    "pymysql.connect": DB,
    "pymysql.connections.Connection": DB,
    "MySQLdb.connect": DB,
    "mysql.connector.connect": DB,
    "aiosqlite.connect": DB,
    "asyncpg.connect": DB,
    "pymongo.MongoClient": _spec("database client", "close", long_lived=True),
    "redis.Redis": _spec("database client", "close", long_lived=True),
    # processes, pools, executors
    "subprocess.Popen": PROCESS,
    "multiprocessing.Pool": POOL,
    "multiprocessing.pool.Pool": POOL,
    "multiprocessing.pool.ThreadPool": POOL,
    "multiprocessing.Manager": MANAGER,
    "multiprocessing.managers.SyncManager": MANAGER,
    "concurrent.futures.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": EXECUTOR,
    "concurrent.futures.thread.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.process.ProcessPoolExecutor": EXECUTOR,
}

# Methods that create a resource from an object of a known kind. The receiver must be
# known to be of that kind (see lifetime.py), except where marked "any".
PATH_OPEN = FILE
ZIP_MEMBER = _spec("zip member", "close")
SSL_WRAP = SSL_SOCKET
SOCKET_FILE = _spec("socket file", "close")
ACCEPTED = ResourceSpec("socket", parts=((0, SOCKET),))

# Names of things whose ``.open()`` yields a file: pathlib paths.
PATH_CONSTRUCTORS = frozenset(
    {"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "Path", "PosixPath"}
)
ZIP_CONSTRUCTORS = frozenset({"zipfile.ZipFile", "zipfile.PyZipFile"})

# Calls that take a resource as an argument without taking ownership of it.
BORROWERS = frozenset(
    {
        "json.load", "json.dump", "pickle.load", "pickle.dump", "pickle.Pickler", "pickle.Unpickler",
        "marshal.load", "marshal.dump", "csv.reader", "csv.writer", "csv.DictReader", "csv.DictWriter",
        "yaml.load", "yaml.safe_load", "yaml.full_load", "yaml.load_all", "yaml.safe_load_all",
        "yaml.dump", "yaml.safe_dump", "yaml.dump_all", "tomllib.load", "tomli.load", "toml.load",
        "toml.dump", "plistlib.load", "plistlib.dump", "shutil.copyfileobj", "hashlib.file_digest",
        "xml.etree.ElementTree.parse", "xml.etree.ElementTree.iterparse", "xml.dom.minidom.parse",
        "numpy.load", "numpy.save", "numpy.loadtxt", "numpy.savetxt", "numpy.fromfile",
        "pandas.read_csv", "pandas.read_json", "configparser.ConfigParser.read_file",
        "print", "len", "list", "tuple", "sorted", "set", "frozenset", "dict", "enumerate", "zip",
        "iter", "next", "map", "filter", "sum", "max", "min", "any", "all", "str", "repr", "bytes",
        "bytearray", "isinstance", "issubclass", "hasattr", "getattr", "setattr", "type", "id",
        "hash", "bool", "vars", "dir", "int", "float", "format", "reversed",
        "os.fstat", "os.fsync", "os.fdatasync", "os.read", "os.write", "os.pread", "os.pwrite",
        "os.lseek", "os.ftruncate", "os.fchmod", "os.fchown", "os.isatty", "os.set_inheritable",
        "os.get_inheritable", "os.set_blocking", "os.get_blocking", "os.dup", "os.dup2",
        "os.sendfile", "os.readv", "os.writev", "os.posix_fallocate", "os.fstatvfs", "os.ttyname",
        "fcntl.fcntl", "fcntl.flock", "fcntl.lockf", "fcntl.ioctl", "select.select",
        "termios.tcgetattr", "termios.tcsetattr", "tty.setraw", "tty.setcbreak",
        "os.stat", "os.lstat", "os.chmod", "os.chown", "os.utime", "os.listdir", "os.walk",
        "os.makedirs", "os.mkdir", "os.access", "os.truncate", "os.symlink", "os.link",
        "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.copymode",
        "shutil.copystat", "shutil.make_archive", "shutil.unpack_archive", "shutil.disk_usage",
        "glob.glob", "glob.iglob", "fnmatch.fnmatch", "pathlib.Path", "pathlib.PurePath",
        "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
        "subprocess.Popen", "logging.debug", "logging.info", "logging.warning", "logging.error",
        "logging.exception", "logging.critical", "logging.log",
    }
)
# Anything under these prefixes borrows too (os.path.join(tmpdir, ...)).
BORROWER_PREFIXES = ("os.path.", "posixpath.", "ntpath.", "string.", "math.", "re.", "fnmatch.")

# Calls that take over a resource and release it later (a hand-off, never a leak), matched
# on the last part of the callee's name: ExitStack.enter_context, atexit.register, ...
HANDOFF_METHODS = frozenset(
    {
        "enter_context", "enter_async_context", "callback", "push", "push_async_callback",
        "push_async_exit", "register", "finalize", "addCleanup", "addAsyncCleanup",
        "add_done_callback", "addClassCleanup", "closing", "aclosing", "setdefault", "addHandler",
        "append", "appendleft", "add", "extend", "insert", "put", "put_nowait", "update",
    }
)

# Calls that give back to the caller what an earlier hand-off took (the handler is detached
# from the logger, and closing it is again the caller's job).
RECLAIM_METHODS = frozenset({"removeHandler", "unregister", "remove", "discard"})

# Every release method of every kind, for code that releases what a class owns
# (``self.x.close()``), where the kind of ``self.x`` may not be known.
ANY_RELEASE_METHODS = frozenset(
    {
        "close", "aclose", "release", "shutdown", "terminate", "kill", "wait", "communicate",
        "cleanup", "quit", "join", "logout", "detach", "unlink", "__exit__", "__aexit__",
        "stop", "disconnect", "dispose", "poll",
    }
)
ANY_RELEASE_FUNCS = TEMP_PATH.release_funcs | TEMP_DIR_PATH.release_funcs | frozenset({"os.close"})

# Methods whose presence makes a class look releasable (for MEM004's "cannot be used in with").
CLASS_RELEASE_METHODS = ("close", "release", "shutdown", "cleanup", "aclose", "terminate", "disconnect")


def custom_specs(resources: Mapping[str, str]) -> Dict[str, ResourceSpec]:
    """Entries from ``[tool.memlint.resources]``: qualified name -> release method."""
    return {name: _spec(f"resource from {name}()", method) for name, method in resources.items()}


def candidate_names(extra: Iterable[str] = ()) -> FrozenSet[str]:
    """The last name of every resource-creating callable: a cheap first filter on calls."""
    names = {qualified.rsplit(".", 1)[-1] for qualified in RESOURCE_CALLS}
    names.update(qualified.rsplit(".", 1)[-1] for qualified in extra)
    names.update({"open", "wrap_socket", "makefile", "accept", "acquire"})
    return frozenset(names)
