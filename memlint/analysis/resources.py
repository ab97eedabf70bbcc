"""The resource knowledge as the analysis stages read it: names bound once per process
from ``memlint/knowledge/*.toml`` (see ``memlint.knowledge``). No table is written here;
to teach memlint a library's resources, add a model to a knowledge file.
"""

from __future__ import annotations

import ast

from memlint.knowledge import candidate_names, custom_specs, knowledge
from memlint.knowledge.overlay import ActiveKnowledge, ActiveTable
from memlint.knowledge.spec import ResourceSpec

# The tables a configuration's ``[tool.memlint.resources]`` can change are views of the
# knowledge in use for the file being checked (``memlint.knowledge.overlay``); the others
# come from memlint's own files only and are bound to the shipped tables.
KNOWLEDGE = ActiveKnowledge()
_SHIPPED = knowledge()

# The shipped callables only: the analysis reads the configuration's from its module
# context (``facts.ModuleContext.table``), the fixer treats configured ones apart.
RESOURCE_CALLS = _SHIPPED.resource_calls
LOCK = _SHIPPED.lock_spec
# What a kept ``NamedTemporaryFile(delete=False)``'s ``.name`` is followed as.
KEPT_FILE_PATH = _SHIPPED.kept_file_path_spec

BORROWERS = ActiveTable("borrowers")
BORROWER_PREFIXES = _SHIPPED.borrower_prefixes
CONSUMERS = _SHIPPED.consumers
HANDOFF_METHODS = _SHIPPED.handoff_methods
HANDOFF_CALLS = _SHIPPED.handoff_calls
DEFERRING_CALLS = _SHIPPED.deferring_calls
CLEANUP_REGISTRATIONS = _SHIPPED.cleanup_registrations
RECLAIM_METHODS = _SHIPPED.reclaim_methods
# ``calls.toml`` [containers]: a collection's adding methods (``sock not in sockets``) and a
# container's keeping ones (a value kept by ``self``'s or the module's container is shared).
ADDING_METHODS = _SHIPPED.adding_methods
KEEPING_METHODS = _SHIPPED.keeping_methods
ANY_RELEASE_METHODS = _SHIPPED.any_release_methods
ANY_RELEASE_FUNCS = ActiveTable("any_release_funcs")
CLASS_RELEASE_METHODS = _SHIPPED.class_release_methods
NON_RAISING_CALLS = _SHIPPED.non_raising_calls
NON_RAISING_METHODS = ActiveTable("non_raising_methods")
NON_RAISING_WITH_CONSTANTS = _SHIPPED.non_raising_with_constant_arguments
NON_RAISING_ON_HELD = _SHIPPED.non_raising_on_held
NON_RAISING_WITH_SEVERAL = _SHIPPED.non_raising_with_several_arguments
NON_RAISING_WITH_A_DEFAULT = _SHIPPED.non_raising_with_a_default
NON_RAISING_ON_NULL_DEVICE = _SHIPPED.non_raising_on_null_device
FALLIBLE_HANDOFF_METHODS = _SHIPPED.fallible_handoff_methods
EXCEPTION_BASES = _SHIPPED.exception_bases
NON_RAISING_OWN_METHODS = ActiveTable("non_raising_own_methods")
CONFIGURING_OWN_METHODS = _SHIPPED.configuring_own_methods
OS_ERROR_MODELS = ActiveTable("os_error_models")
CLOSED_WITH_RECEIVER_MODELS = _SHIPPED.closed_with_receiver_models
CONTENT_REMOVING_MODELS = _SHIPPED.content_removing_models
CLOSED_WITH_RECEIVER_METHODS = _SHIPPED.inferred_closed_with_receiver_methods
OS_ERROR_NAMES = _SHIPPED.os_error_names
OS_ERROR_PREFIXES = _SHIPPED.os_error_prefixes
LOGGING_METHODS = _SHIPPED.logging_methods
INHERITED_RELEASES = _SHIPPED.inherited_releases
CLEANUP_AFTER_YIELD_PREFIXES = _SHIPPED.cleanup_after_yield_prefixes
CLEANUP_AFTER_YIELD_FUNCTIONS = _SHIPPED.cleanup_after_yield_functions
TERMINATORS = _SHIPPED.terminators
STANDARD_STREAM_CLOSERS = _SHIPPED.standard_stream_closers
PATH_CONSTRUCTORS = _SHIPPED.path_constructors
PATH_METHODS = _SHIPPED.path_methods
PATH_WRAPPERS = _SHIPPED.path_wrappers
SAME_PATH_METHODS = _SHIPPED.same_path_methods
PATH_KEEPERS = _SHIPPED.path_keepers
PATH_HANDOFF_PREFIXES = _SHIPPED.path_handoff_prefixes
MEMORY_BUFFERS = _SHIPPED.memory_buffers
IN_MEMORY_WRAPPERS = ActiveTable("in_memory_wrappers")
CLOSES_WHEN_EXHAUSTED = ActiveTable("closes_when_exhausted")
BORROWS_GIVEN_FILE = ActiveTable("borrows_given_file")
BORROWS_FILE_A_WITH_OPENED = ActiveTable("borrows_file_a_with_opened")
READS_A_FILE_OBJECT = ActiveTable("reads_a_file_object")
KEEPS_FILE = ActiveTable("keeps_file")
MAY_BE_DETACHED = ActiveTable("may_be_detached")
KEYWORD_ONLY_CONSTRUCTORS = ActiveTable("keyword_only_constructors")
BORROWED_PARAMS = ActiveTable("borrowed_params")
BORROWING_KEYWORDS = _SHIPPED.borrowing_keywords
SCOPED_BORROWING_KEYWORDS = _SHIPPED.scoped_borrowing_keywords
SUBCLASS_BASES = ActiveTable("subclass_bases")
PIPED_STREAMS = ActiveTable("piped_streams")
# Models whose objects have methods that acquire (a zip archive's ``.open()``).
RECEIVER_MODELS = ActiveTable("receiver_models")



def made_only_in_context(qualified: str, call: ast.Call) -> bool:
    """Whether a call of the known maker ``qualified`` cannot be counted as making a resource
    without reading it where it is made: an in-memory wrapper (unless its first argument is
    spelled as a path string: ``gzip.open("{}/{}.gz".format(d, t))`` opens a file), a borrowed
    given file, a possibly detached child (their cases need the call's arguments and scope),
    and a keyword-only constructor given a positional argument, which raises TypeError. The
    project index, which summarises other modules' functions, counts none of these."""
    if qualified in IN_MEMORY_WRAPPERS and not (call.args and _spelled_string(call.args[0])):
        return True
    if qualified in BORROWS_GIVEN_FILE or qualified in MAY_BE_DETACHED:
        return True
    given_positional = any(not isinstance(arg, ast.Starred) for arg in call.args)
    return given_positional and qualified in KEYWORD_ONLY_CONSTRUCTORS


def _spelled_string(node: ast.expr) -> bool:
    """A string literal, an f-string, or one formatted by ``%`` or ``.format()``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        node = node.func.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        node = node.left
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


__all__ = [name for name in dir() if name.isupper() and not name.startswith("_")] + [
    "ResourceSpec", "candidate_names", "custom_specs", "made_only_in_context",
]
