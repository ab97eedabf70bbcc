"""Reading ``memlint/knowledge/*.toml`` into the tables the analysis looks things up in.

Two kinds of file live there: resource families (``[[model]]`` entries: what acquires a
resource, what releases it, ...) and ``calls.toml`` (how ordinary calls treat a resource
given to them, which calls can fail; their sections are read by
``memlint.knowledge.call_tables``). ``load_knowledge`` reads them once per process.
A file that breaks the schema raises ``KnowledgeError`` naming the file and the field.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Tuple

from memlint.knowledge.call_tables import CALLS_FILE, KnowledgeError, call_strings, read_call_sections
from memlint.knowledge.call_tables import DOTTED as _DOTTED
from memlint.knowledge.call_tables import IDENTIFIER as _IDENTIFIER
from memlint.knowledge.spec import EXIT_BEHAVIOURS, ResourceSpec

if sys.version_info >= (3, 11):  # pragma: no cover - the branch depends on the interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KNOWLEDGE_DIR = Path(__file__).resolve().parent
# Files of knowledge about calls rather than resources: merged into one table of sections.
CALL_FILES = (CALLS_FILE, "inferred.toml")
RECEIVERS = ("path", "any")  # or the name of the model whose objects the method is called on
METHOD_ARGUMENTS = ("any", "mode-string", "none")
PROTOCOLS = ("object", "acquire-release")

_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Lists of callables that must each be one of the model's own ``acquired_by``.
CALLABLE_SUBSETS = (
    "hold_nothing_over_memory_buffer",
    "borrow_a_given_file",
    "borrow_a_file_a_with_opened",
    "hold_nothing_reading_a_file_object",
    "closes_when_exhausted",
    "keep_the_file_with_delete_false",
    "may_be_detached",
    # Constructors that take keyword arguments only: a call with a positional argument raises
    # TypeError before anything is acquired (or is some other callable of the same name).
    "take_keywords_only",
)
_STRING_LISTS = ("acquired_by", "methods", "release", "release_functions", "non_raising_methods",
                 "non_raising_own_methods", "released_by_reading", "subclass_bases", "borrowed_params", "given_back_by",
                 "release_functions_of_attribute", "release_may_time_out", "piped_streams",
                 "pipes_closed_by", "released_when_not_none", "closed_attributes",
                 "release_with_one_argument", "carried_by_errors") + CALLABLE_SUBSETS
_BOOLEANS = ("long_lived", "is_path", "borrows_its_arguments", "not_a_resource_when_discarded", "fails_only_with_os_error",
             "only_a_receiver", "closed_with_its_receiver", "removes_what_is_made_in_it")
_STRINGS = ("name", "kind", "summary", "verb", "exit", "receiver", "method_arguments", "protocol", "kept_path_model",
            "only_when_keyword_true", "pipe_model")
# ``paramiko.SSHClient``: the methods after which the object holds something (a lazy object).
_STRING_LISTS = _STRING_LISTS + ("held_after",)
# ``closefd``: given ``False``, the call wraps a descriptor it does not own (no acquisition).
_STRINGS = _STRINGS + ("not_when_keyword_false",)
# ``QdrantClient(":memory:")``: given this constant as the named argument (keyword, or the
# positional one after ``@``), written ``name@position=constant``, the object keeps its data in
# the process's memory and holds no socket, file or lock (no acquisition).
_STRING_LISTS = _STRING_LISTS + ("not_with_constant",)
# ``Redis(connection_pool=pool)``, ``AsyncOpenAI(http_client=shared)``: given one of these
# keywords (not spelled as a fresh acquisition), the object works through a pool or client
# that someone else made and holds no connection of its own (no acquisition).
_STRING_LISTS = _STRING_LISTS + ("not_when_keyword_given",)
# ``AsyncOpenAI(http_client=client)``: the object's release closes the given client too, so
# one made fresh in the same function is the object's own (an acquisition); one a method of
# the class stores on ``self`` from an acquisition is the object's to release (none).
_BOOLEANS = _BOOLEANS + ("closes_given_client",)
# ``FileHandler(path, delay=True)``: given that keyword as ``True``, the object opens nothing
# until one of ``held_after_when_lazy`` is called on it (a lazy object, as ``held_after``).
_STRINGS = _STRINGS + ("lazy_when_keyword_true",)
_STRING_LISTS = _STRING_LISTS + ("held_after_when_lazy",)
# ``smtplib.SMTP()``: called without this argument (by keyword or as the first positional
# one) the object connects nothing until one of ``held_after_when_lazy`` is called on it.
_STRINGS = _STRINGS + ("lazy_without_argument",)
# ``SpooledTemporaryFile(max_size=0)``: given this constant as the named argument (keyword, or
# the positional one after ``@``), written ``name@position=constant``, the call is the same as
# one leaving the argument out: a lazy object, as ``lazy_without_argument``.
_STRING_LISTS = _STRING_LISTS + ("lazy_with_constant",)
# ``"file:close"``: that method of that attribute releases it (``tf.file.close()``).
_STRING_LISTS = _STRING_LISTS + ("release_methods_of_attribute",)
# ``x.makefile("r")`` matched by name: a receiver declared (annotated) as a class outside
# ``receiver_classes`` is some other object's method (no acquisition).
_STRING_LISTS = _STRING_LISTS + ("receiver_classes",)
# ``smtplib.SMTP().connect(h)``: of the methods that make a lazy object hold something
# (``held_after``, ``held_after_when_lazy``), those that close what they opened before they
# raise: their own failure leaves the object holding nothing.
_STRING_LISTS = _STRING_LISTS + ("entries_closing_on_failure",)
MODEL_FIELDS = frozenset(_STRING_LISTS + _BOOLEANS + _STRINGS + ("parts",))


@dataclass(frozen=True)
class Model:
    """One ``[[model]]``: a kind of resource and everything known about it."""

    name: str
    kind: str
    family: str
    summary: str = ""
    acquired_by: Tuple[str, ...] = ()
    methods: Tuple[str, ...] = ()
    receiver: str = "any"
    method_arguments: str = "any"
    protocol: str = "object"
    release: Tuple[str, ...] = ()
    release_functions: Tuple[str, ...] = ()
    verb: str = "closed"
    exit: str = "closes"
    long_lived: bool = False
    is_path: bool = False
    parts: Tuple[Tuple[int, str], ...] = ()
    non_raising_methods: Tuple[str, ...] = ()
    # Its methods that cannot realistically fail even on the resource being followed
    # (setting an option of a fresh socket, a handler's formatter).
    non_raising_own_methods: Tuple[str, ...] = ()
    # Attributes whose reading consumes it to the end and so releases it (a streamed
    # response's ``.text``: the body is read and the connection goes back to the pool).
    released_by_reading: Tuple[str, ...] = ()
    given_back_by: Tuple[str, ...] = ()  # callables returning it itself (``iter(f)`` is ``f``)
    # Methods that release it only when given exactly one argument: ``Path.replace(target)``
    # moves the file; ``str.replace(old, new)`` (two arguments) only makes a new string.
    release_with_one_argument: Tuple[str, ...] = ()
    # Its own methods fail with OSError only (socket.timeout and ssl.SSLError are OSErrors):
    # an ``except OSError`` around them catches every failure that can realistically happen.
    fails_only_with_os_error: bool = False
    # "attribute:function": the function releases it when given that attribute of it
    # (``pid:os.waitpid``: ``os.waitpid(proc.pid, 0)`` reaps the process).
    release_functions_of_attribute: Tuple[str, ...] = ()
    release_methods_of_attribute: Tuple[str, ...] = ()
    # "method:exception:attribute": the exception its method raises holds it in that attribute
    # (``raise_for_status:requests.HTTPError:response``: ``exc.response`` is the response).
    carried_by_errors: Tuple[str, ...] = ()
    # Releases that, given ``timeout=``, may raise and leave it held (``communicate``).
    release_may_time_out: Tuple[str, ...] = ()
    # Methods (``poll``) or attributes (``returncode``) that are not None only once it was
    # released: ``if proc.poll() is not None:`` holds only for a reaped child.
    released_when_not_none: Tuple[str, ...] = ()
    # Attributes true exactly once it is released (``closed`` is every model's; httpx's
    # ``is_closed``): ``if not response.is_closed: response.close()`` releases it where held.
    closed_attributes: Tuple[str, ...] = ()
    borrows_its_arguments: bool = False
    not_a_resource_when_discarded: bool = False
    # Its calls hold nothing themselves; they only make what another model's methods
    # acquire from (``async_playwright()``, whose ``.start()`` starts the driver).
    only_a_receiver: bool = False
    # Made by a method of another resource and ended when that one is closed (an SFTP
    # client's channel goes with its SSH client's transport).
    closed_with_its_receiver: bool = False
    # A directory whose release removes every file made in it (``TemporaryDirectory()``):
    # a temporary file created with ``dir=`` it goes with it.
    removes_what_is_made_in_it: bool = False
    hold_nothing_over_memory_buffer: Tuple[str, ...] = ()
    # For a method matched by name on any receiver: the classes its receiver may be declared as.
    receiver_classes: Tuple[str, ...] = ()
    borrow_a_given_file: Tuple[str, ...] = ()
    # ``ZipFile(f)`` reading ``f`` of ``with x.open() as f``: the with owns the descriptor.
    borrow_a_file_a_with_opened: Tuple[str, ...] = ()
    # ``ZipFile(f)`` / ``tarfile.open(fileobj=f)`` reading a file object: it owns nothing.
    hold_nothing_reading_a_file_object: Tuple[str, ...] = ()
    closes_when_exhausted: Tuple[str, ...] = ()
    keep_the_file_with_delete_false: Tuple[str, ...] = ()
    may_be_detached: Tuple[str, ...] = ()
    take_keywords_only: Tuple[str, ...] = ()
    # The path model that ``.name`` of a file kept on disk is followed as.
    kept_path_model: str = ""
    # ``"gzip.GzipFile:fileobj"`` (or ``"zipfile.ZipFile:file@0"``, also positional at 0):
    # a resource passed there stays the caller's (the constructor never closes it).
    borrowed_params: Tuple[str, ...] = ()
    # Classes whose subclasses' objects are resources of this model (``socket.socket``).
    subclass_bases: Tuple[str, ...] = ()
    # Acquires only when called with this keyword set to ``True`` (``stream=True``).
    only_when_keyword_true: str = ""
    # ``Popen(stdout=PIPE)``: keywords that, given the pipe constant, make the object own a
    # pipe at the attribute of the same name (a resource of ``pipe_model``), closed by the
    # pipe's own release or by the object's ``pipes_closed_by`` methods (``communicate``).
    piped_streams: Tuple[str, ...] = ()
    pipe_model: str = ""
    pipes_closed_by: Tuple[str, ...] = ()
    held_after: Tuple[str, ...] = ()
    not_when_keyword_false: str = ""
    not_with_constant: Tuple[str, ...] = ()
    not_when_keyword_given: Tuple[str, ...] = ()
    closes_given_client: bool = False
    lazy_when_keyword_true: str = ""
    held_after_when_lazy: Tuple[str, ...] = ()
    lazy_without_argument: str = ""
    lazy_with_constant: Tuple[str, ...] = ()
    entries_closing_on_failure: Tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodAcquisition:
    """A method that returns a new resource (``path.open()``, ``server.accept()``)."""

    method: str
    receiver: str
    arguments: str
    spec: ResourceSpec
    model: Model


@dataclass
class Knowledge:
    """Every table the analysis, the prefilter and the fixer look things up in."""

    models: Dict[str, Model] = field(default_factory=dict)
    specs: Dict[str, ResourceSpec] = field(default_factory=dict)
    # Qualified callable -> the spec of what it returns.
    resource_calls: Dict[str, ResourceSpec] = field(default_factory=dict)
    # Method name -> the acquisitions it can be, in file order.
    method_acquisitions: Dict[str, Tuple[MethodAcquisition, ...]] = field(default_factory=dict)
    lock_methods: FrozenSet[str] = frozenset()
    lock_spec: ResourceSpec = ResourceSpec("lock")
    # Callables with a special case in the acquisition classifier.
    in_memory_wrappers: FrozenSet[str] = frozenset()
    borrows_given_file: FrozenSet[str] = frozenset()
    borrows_file_a_with_opened: FrozenSet[str] = frozenset()
    reads_a_file_object: FrozenSet[str] = frozenset()
    closes_when_exhausted: FrozenSet[str] = frozenset()
    keeps_file: FrozenSet[str] = frozenset()
    may_be_detached: FrozenSet[str] = frozenset()
    keyword_only_constructors: FrozenSet[str] = frozenset()
    kept_file_path_spec: ResourceSpec = ResourceSpec("temporary file")
    # Qualified callable -> the parameters (name, position or -1) that only borrow.
    borrowed_params: Dict[str, Tuple[Tuple[str, int], ...]] = field(default_factory=dict)
    # Qualified base class -> the spec its subclasses' objects have.
    subclass_bases: Dict[str, ResourceSpec] = field(default_factory=dict)
    # Last names of acquisitions that need a keyword set to True, and those keywords.
    conditional_names: FrozenSet[str] = frozenset()
    condition_keywords: FrozenSet[str] = frozenset()
    # From calls.toml.
    borrowers: FrozenSet[str] = frozenset()
    borrower_prefixes: Tuple[str, ...] = ()
    # Qualified callable -> (its piped streams, the pipe's spec, the owner's methods that close them).
    piped_streams: Dict[str, Tuple[Tuple[str, ...], ResourceSpec, FrozenSet[str]]] = field(default_factory=dict)
    # Keyword parameters that lend what they are given to any callee (``file=``), and those
    # that lend it only to a callee used as a ``with`` item (``http_client=``).
    borrowing_keywords: FrozenSet[str] = frozenset()
    scoped_borrowing_keywords: FrozenSet[str] = frozenset()
    consumers: FrozenSet[str] = frozenset()
    handoff_methods: FrozenSet[str] = frozenset()
    # [containers]: the methods by which a collection takes one more item, and those by which
    # a container keeps what it is given alive (two questions: see calls.toml).
    adding_methods: FrozenSet[str] = frozenset()
    keeping_methods: FrozenSet[str] = frozenset()
    handoff_calls: FrozenSet[str] = frozenset()
    deferring_calls: FrozenSet[str] = frozenset()
    cleanup_registrations: FrozenSet[str] = frozenset()
    reclaim_methods: FrozenSet[str] = frozenset()
    any_release_methods: FrozenSet[str] = frozenset()
    any_release_funcs: FrozenSet[str] = frozenset()
    class_release_methods: Tuple[str, ...] = ()
    non_raising_calls: FrozenSet[str] = frozenset()
    non_raising_methods: FrozenSet[str] = frozenset()
    # Calls that fail only on a programming error when every argument is a constant
    # (``set()``, ``struct.pack(FMT, 0)``), and those that cannot fail on the followed
    # resource itself as their first argument (``os.fstat(fd)``).
    non_raising_with_constant_arguments: FrozenSet[str] = frozenset()
    non_raising_on_held: FrozenSet[str] = frozenset()
    non_raising_with_several_arguments: FrozenSet[str] = frozenset()
    # Calls that return their last positional argument instead of raising (``getattr(o, n, d)``).
    non_raising_with_a_default: FrozenSet[str] = frozenset()
    # Openers that cannot fail on ``os.devnull`` (``open(os.devnull, "w")``).
    non_raising_on_null_device: FrozenSet[str] = frozenset()
    # Hand-offs that can fail before they take the resource (``loop.connect_read_pipe``).
    fallible_handoff_methods: FrozenSet[str] = frozenset()
    # Methods that only use the resource passed to them (``loop.sock_connect(sock, a)``).
    borrowing_methods: FrozenSet[str] = frozenset()
    non_raising_in_coroutines: FrozenSet[str] = frozenset()
    # MEM003's evidence that a call can raise (``calls.toml`` [raise-evidence]): modules whose
    # functions do I/O, parse, talk to the network or the OS; modules whose functions only
    # compute in memory; builtins that parse or read; constructors that parse their argument.
    raising_prefixes: Tuple[str, ...] = ()
    quiet_prefixes: Tuple[str, ...] = ()
    raising_builtins: FrozenSet[str] = frozenset()
    raising_constructors: FrozenSet[str] = frozenset()
    # Exception -> its base class, for what an ``except`` catches (``TimeoutError`` -> ``OSError``).
    exception_bases: Dict[str, str] = field(default_factory=dict)
    # Constructor -> methods of the objects it makes that cannot raise (``Thread.start``).
    non_raising_methods_of: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    # Function -> constants its second argument may be for it not to raise on the followed
    # resource (``fcntl.flock(f, LOCK_EX)``); functions that always return a pair.
    non_raising_on_held_with: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    returns_pairs: FrozenSet[str] = frozenset()
    non_raising_going_back: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # ``os.chdir`` -> ``os.getcwd``
    non_raising_on_plain_values: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # ``json.dumps`` -> ...
    # Exception -> methods whose only realistic failure it is (``communicate`` -> TimeoutExpired).
    fails_only_with: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    errors_of_own_work: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # exception -> makers of resources failing only with it
    fails_only_with_on_text: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # exception -> builtins failing only with it on a str
    text_with_a_default: FrozenSet[str] = frozenset()
    raised_only_by: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # exception -> its only raisers, by last name
    idle_until: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # [idle-objects] started_by
    # Model name -> its own methods that MEM003 takes not to raise on the followed resource.
    non_raising_own_methods: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    released_by_reading: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # model -> attributes whose reading releases
    given_back_by: Dict[str, FrozenSet[str]] = field(default_factory=dict)  # model -> callables
    # Model name -> (method, exception, attribute): the exception the method raises holds it.
    carried_by_errors: Dict[str, Tuple[Tuple[str, str, str], ...]] = field(default_factory=dict)
    # Configuring methods taken not to raise on the followed resource, whatever its model.
    configuring_own_methods: FrozenSet[str] = frozenset()
    os_error_models: FrozenSet[str] = frozenset()
    closed_with_receiver_models: FrozenSet[str] = frozenset()
    content_removing_models: FrozenSet[str] = frozenset()
    # inferred.toml: methods that open a channel on their receiver (closed with it).
    inferred_closed_with_receiver_methods: FrozenSet[str] = frozenset()
    os_error_names: FrozenSet[str] = frozenset()
    os_error_prefixes: Tuple[str, ...] = ()
    logging_methods: FrozenSet[str] = frozenset()
    cleanup_after_yield_prefixes: Tuple[str, ...] = ()
    # Qualified base class -> (attribute -> the inherited method that releases it).
    inherited_releases: Dict[str, Dict[str, str]] = field(default_factory=dict)
    cleanup_after_yield_functions: FrozenSet[str] = frozenset()
    terminators: FrozenSet[str] = frozenset()
    # Calls that close the standard streams when given 0 first (``os.closerange(0, 3)``).
    standard_stream_closers: FrozenSet[str] = frozenset()
    path_constructors: FrozenSet[str] = frozenset()
    path_keepers: FrozenSet[str] = frozenset()
    path_handoff_prefixes: Tuple[str, ...] = ()
    path_methods: FrozenSet[str] = frozenset()
    path_wrappers: FrozenSet[str] = frozenset()
    same_path_methods: FrozenSet[str] = frozenset()
    memory_buffers: FrozenSet[str] = frozenset()
    # A module name imported from elsewhere -> the standard library module it stands for.
    reexported_modules: Dict[str, str] = field(default_factory=dict)
    # From inferred.toml: release method -> verb, for resources known only by their release.
    inferred_release_verbs: Dict[str, str] = field(default_factory=dict)
    inferred_not_with_methods: FrozenSet[str] = frozenset()
    inferred_not_from: FrozenSet[str] = frozenset()
    inferred_not_from_methods: FrozenSet[str] = frozenset()
    inferred_identity_callables: FrozenSet[str] = frozenset()
    inferred_set_up_methods: FrozenSet[str] = frozenset()
    inferred_starting_methods: FrozenSet[str] = frozenset()
    inferred_in_memory_bases: FrozenSet[str] = frozenset()
    inferred_held_after_calls: Dict[str, FrozenSet[str]] = field(default_factory=dict)
    inferred_held_only_with_keyword: Dict[str, str] = field(default_factory=dict)
    # Models that methods are called on to acquire (a zip archive's ``.open()``).
    receiver_models: Tuple[str, ...] = ()
    # What the tables were built from, kept so that a configuration's own models can be
    # added to them (``memlint.knowledge.overlay``).
    model_list: Tuple[Model, ...] = ()
    calls_document: Mapping[str, Any] = field(default_factory=dict)
    digest: str = ""


def knowledge_files(directory: Path = KNOWLEDGE_DIR) -> List[Path]:
    return sorted(directory.glob("*.toml"))


@functools.lru_cache(maxsize=None)
def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    """The knowledge in ``directory``, read once per process."""
    hasher = hashlib.blake2b(digest_size=20)
    models: List[Model] = []
    calls: Mapping[str, Any] = {}
    for path in knowledge_files(directory):
        data = path.read_bytes()
        hasher.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise KnowledgeError(f"{path.name}: not valid TOML: {error}") from None
        if path.name in CALL_FILES:
            calls = {**calls, **document}
            continue
        unknown = set(document) - {"model"}
        if unknown:
            raise KnowledgeError(f"{path.name}: unknown top-level key(s) {sorted(unknown)}; expected [[model]] entries")
        raw_models = document.get("model", [])
        if not isinstance(raw_models, list):
            raise KnowledgeError(f"{path.name}: `model` must be an array of tables ([[model]])")
        family = path.stem
        for index, raw in enumerate(raw_models):
            models.append(parse_model(raw, f"{path.name}: model {index + 1}", family))
    knowledge = build(models, calls)
    knowledge.digest = hasher.hexdigest()
    return knowledge


def parse_model(raw: Any, where: str, family: str, require_name: bool = True) -> Model:
    """One model table, checked field by field."""
    if not isinstance(raw, Mapping):
        raise KnowledgeError(f"{where}: must be a table")
    unknown = set(raw) - MODEL_FIELDS
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {sorted(unknown)}; known fields: {sorted(MODEL_FIELDS)}")
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        if key in _STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise KnowledgeError(f"{where}: `{key}` must be a list of strings")
            pattern = (
                _IDENTIFIER
                if key in ("methods", "release", "non_raising_methods", "non_raising_own_methods", "released_by_reading",
                           "release_may_time_out", "piped_streams", "pipes_closed_by", "released_when_not_none", "closed_attributes",
                           "entries_closing_on_failure")
                else _DOTTED
            )
            if key in ("release_functions_of_attribute", "release_methods_of_attribute"):
                pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_.]*(\(\))?$")
            if key == "carried_by_errors":
                pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")
            if key == "borrowed_params":
                pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*(?:@[0-9])?$")
            if key in ("not_with_constant", "lazy_with_constant"):
                pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:@[0-9])?=.+$")
            for item in value:
                if not pattern.match(item):
                    raise KnowledgeError(f"{where}: `{key}` entry {item!r} is not a valid name")
            values[key] = tuple(value)
        elif key in _BOOLEANS:
            if not isinstance(value, bool):
                raise KnowledgeError(f"{where}: `{key}` must be true or false")
            values[key] = value
        elif key in _STRINGS:
            if not isinstance(value, str) or not value:
                raise KnowledgeError(f"{where}: `{key}` must be a non-empty string")
            values[key] = value
        else:  # parts
            values[key] = _parse_parts(value, where)
    if require_name and not _MODEL_NAME.match(values.get("name", "")):
        raise KnowledgeError(f"{where}: `name` is required (lowercase words joined by '-')")
    if "kind" not in values:
        raise KnowledgeError(f"{where}: `kind` is required (what a person calls the resource)")
    _check_choice(values, "exit", EXIT_BEHAVIOURS, where)
    _check_choice(values, "method_arguments", METHOD_ARGUMENTS, where)
    _check_choice(values, "protocol", PROTOCOLS, where)
    acquired = set(values.get("acquired_by", ()))
    for key in CALLABLE_SUBSETS:
        stray = [name for name in values.get(key, ()) if name not in acquired]
        if stray:
            raise KnowledgeError(f"{where}: `{key}` names {stray}, which are not in its `acquired_by`")
    entering = set(values.get("held_after", ())) | set(values.get("held_after_when_lazy", ()))
    stray = [name for name in values.get("entries_closing_on_failure", ()) if name not in entering]
    if stray:
        raise KnowledgeError(f"{where}: `entries_closing_on_failure` names {stray}, which are not in its `held_after`")
    values.setdefault("name", "")
    return Model(family=family, **values)


def _check_choice(values: Mapping[str, Any], key: str, choices: Tuple[str, ...], where: str) -> None:
    if key in values and values[key] not in choices:
        raise KnowledgeError(f"{where}: `{key}` must be one of {', '.join(choices)}, got {values[key]!r}")


def _parse_parts(value: Any, where: str) -> Tuple[Tuple[int, str], ...]:
    parts = []
    if not isinstance(value, list):
        raise KnowledgeError(f"{where}: `parts` must be a list of {{ index = N, model = \"name\" }}")
    for part in value:
        if (
            not isinstance(part, Mapping)
            or set(part) != {"index", "model"}
            or not isinstance(part["index"], int)
            or isinstance(part["index"], bool)
            or not isinstance(part["model"], str)
        ):
            raise KnowledgeError(f"{where}: `parts` must be a list of {{ index = N, model = \"name\" }}")
        parts.append((part["index"], part["model"]))
    return tuple(parts)


def spec_of(model: Model, parts: Tuple[Tuple[int, ResourceSpec], ...] = ()) -> ResourceSpec:
    return ResourceSpec(
        model.kind,
        frozenset(model.release),
        frozenset(model.release_functions),
        long_lived=model.long_lived,
        is_path=model.is_path,
        parts=parts,
        verb=model.verb,
        model=model.name,
        held_after=frozenset(model.held_after),
        exit=model.exit,
        attribute_release_funcs=frozenset(
            tuple(entry.split(":", 1)) for entry in model.release_functions_of_attribute  # type: ignore[misc]
        ),
        attribute_release_methods=frozenset(tuple(entry.split(":", 1)) for entry in model.release_methods_of_attribute),  # type: ignore[misc]
    )


def build(models: List[Model], calls: Mapping[str, Any]) -> Knowledge:
    """The lookup tables from the models and ``calls.toml``."""
    knowledge = Knowledge()
    for model in models:
        if model.name in knowledge.models:
            raise KnowledgeError(f"{model.family}.toml: model name {model.name!r} is used twice")
        knowledge.models[model.name] = model
    # Parts refer to other models by name: build the referenced specs first.
    for model in models:
        for _index, part in model.parts:
            if part not in knowledge.models or knowledge.models[part].parts:
                raise KnowledgeError(f"{model.family}.toml: model {model.name!r}: part {part!r} is not a model without parts")
    for model in sorted(models, key=lambda m: bool(m.parts)):
        parts = tuple((index, knowledge.specs[part]) for index, part in model.parts)
        knowledge.specs[model.name] = spec_of(model, parts)
    methods: Dict[str, List[MethodAcquisition]] = {}
    for model in models:
        spec = knowledge.specs[model.name]
        for qualified in model.acquired_by:
            if model.only_a_receiver:
                continue
            if qualified in knowledge.resource_calls:
                raise KnowledgeError(f"{model.family}.toml: {qualified!r} is acquired by two models")
            knowledge.resource_calls[qualified] = spec
        if model.receiver not in RECEIVERS and model.receiver not in knowledge.models:
            raise KnowledgeError(f"{model.family}.toml: model {model.name!r}: receiver {model.receiver!r} is not path, any or a model")
        for method in model.methods:
            if model.protocol == "acquire-release":
                knowledge.lock_methods |= {method}
                knowledge.lock_spec = spec
                continue
            methods.setdefault(method, []).append(MethodAcquisition(method, model.receiver, model.method_arguments, spec, model))
    knowledge.method_acquisitions = {name: tuple(found) for name, found in methods.items()}
    knowledge.receiver_models = tuple(sorted({m.receiver for found in methods.values() for m in found} - set(RECEIVERS)))
    knowledge.model_list = tuple(models)
    knowledge.calls_document = calls

    def union(key: str) -> FrozenSet[str]:
        return frozenset(name for model in models for name in getattr(model, key))

    knowledge.in_memory_wrappers = union("hold_nothing_over_memory_buffer")
    knowledge.borrows_given_file = union("borrow_a_given_file")
    knowledge.borrows_file_a_with_opened = union("borrow_a_file_a_with_opened")
    knowledge.reads_a_file_object = union("hold_nothing_reading_a_file_object")
    knowledge.closes_when_exhausted = union("closes_when_exhausted")
    knowledge.keeps_file = union("keep_the_file_with_delete_false")
    knowledge.may_be_detached = union("may_be_detached")
    knowledge.keyword_only_constructors = union("take_keywords_only")
    for model in models:
        for entry in model.borrowed_params:
            callee, _, param = entry.partition(":")
            name, _, position = param.partition("@")
            knowledge.borrowed_params.setdefault(callee, ())
            knowledge.borrowed_params[callee] += ((name, int(position) if position else -1),)
        for base in model.subclass_bases:
            knowledge.subclass_bases[base] = knowledge.specs[model.name]
        if model.only_when_keyword_true:
            knowledge.conditional_names |= {q.rsplit(".", 1)[-1] for q in model.acquired_by} | set(model.methods)
            knowledge.condition_keywords |= {model.only_when_keyword_true}
    for model in models:
        if model.keep_the_file_with_delete_false:
            path_model = knowledge.models.get(model.kept_path_model)
            if path_model is None or not path_model.is_path:
                raise KnowledgeError(f"{model.family}.toml: model {model.name!r}: kept_path_model must name a model with is_path = true")
            knowledge.kept_file_path_spec = knowledge.specs[path_model.name]

    for model in models:
        if model.piped_streams:
            pipe = knowledge.models.get(model.pipe_model)
            if pipe is None or pipe.parts:
                raise KnowledgeError(f"{model.family}.toml: model {model.name!r}: pipe_model must name a model without parts")
            for qualified in model.acquired_by:
                knowledge.piped_streams[qualified] = (
                    model.piped_streams, knowledge.specs[pipe.name], frozenset(model.pipes_closed_by)
                )

    read_call_sections(knowledge, calls)
    models_borrowing = frozenset(q for model in models if model.borrows_its_arguments for q in model.acquired_by)
    knowledge.borrowers = frozenset(call_strings(calls, "borrowing", "callables")) | models_borrowing
    knowledge.any_release_funcs = frozenset(call_strings(calls, "releasing", "functions")) | frozenset(
        name for model in models if model.is_path for name in model.release_functions
    )
    knowledge.non_raising_methods = frozenset(call_strings(calls, "raising", "non_raising_methods")) | union("non_raising_methods")
    knowledge.non_raising_own_methods = {
        model.name: frozenset(model.non_raising_own_methods) for model in models if model.non_raising_own_methods
    }
    knowledge.released_by_reading = {m.name: frozenset(m.released_by_reading) for m in models if m.released_by_reading}
    knowledge.given_back_by = {m.name: frozenset(m.given_back_by) for m in models if m.given_back_by}
    knowledge.carried_by_errors = {
        m.name: tuple(tuple(entry.split(":")) for entry in m.carried_by_errors) for m in models if m.carried_by_errors  # type: ignore[misc]
    }
    knowledge.os_error_models = frozenset(model.name for model in models if model.fails_only_with_os_error)
    knowledge.closed_with_receiver_models = frozenset(model.name for model in models if model.closed_with_its_receiver)
    knowledge.content_removing_models = frozenset(model.name for model in models if model.removes_what_is_made_in_it)
    return knowledge
