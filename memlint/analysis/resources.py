"""The resource knowledge as the analysis stages read it: names bound once per process
from ``memlint/knowledge/*.toml`` (see ``memlint.knowledge``). No table is written here;
to teach memlint a library's resources, add a model to a knowledge file.
"""

from __future__ import annotations

from memlint.knowledge import candidate_names, custom_specs, knowledge
from memlint.knowledge.spec import ResourceSpec

KNOWLEDGE = knowledge()

RESOURCE_CALLS = KNOWLEDGE.resource_calls
LOCK = KNOWLEDGE.lock_spec
# What a kept ``NamedTemporaryFile(delete=False)``'s ``.name`` is followed as.
KEPT_FILE_PATH = KNOWLEDGE.kept_file_path_spec

BORROWERS = KNOWLEDGE.borrowers
BORROWER_PREFIXES = KNOWLEDGE.borrower_prefixes
CONSUMERS = KNOWLEDGE.consumers
HANDOFF_METHODS = KNOWLEDGE.handoff_methods
HANDOFF_CALLS = KNOWLEDGE.handoff_calls
RECLAIM_METHODS = KNOWLEDGE.reclaim_methods
ANY_RELEASE_METHODS = KNOWLEDGE.any_release_methods
ANY_RELEASE_FUNCS = KNOWLEDGE.any_release_funcs
CLASS_RELEASE_METHODS = KNOWLEDGE.class_release_methods
NON_RAISING_CALLS = KNOWLEDGE.non_raising_calls
NON_RAISING_METHODS = KNOWLEDGE.non_raising_methods
NON_RAISING_OWN_METHODS = KNOWLEDGE.non_raising_own_methods
CONFIGURING_OWN_METHODS = KNOWLEDGE.configuring_own_methods
OS_ERROR_MODELS = KNOWLEDGE.os_error_models
OS_ERROR_NAMES = KNOWLEDGE.os_error_names
OS_ERROR_PREFIXES = KNOWLEDGE.os_error_prefixes
LOGGING_METHODS = KNOWLEDGE.logging_methods
INHERITED_RELEASES = KNOWLEDGE.inherited_releases
CLEANUP_AFTER_YIELD_PREFIXES = KNOWLEDGE.cleanup_after_yield_prefixes
CLEANUP_AFTER_YIELD_FUNCTIONS = KNOWLEDGE.cleanup_after_yield_functions
TERMINATORS = KNOWLEDGE.terminators
PATH_CONSTRUCTORS = KNOWLEDGE.path_constructors
PATH_METHODS = KNOWLEDGE.path_methods
PATH_WRAPPERS = KNOWLEDGE.path_wrappers
PATH_KEEPERS = KNOWLEDGE.path_keepers
PATH_HANDOFF_PREFIXES = KNOWLEDGE.path_handoff_prefixes
MEMORY_BUFFERS = KNOWLEDGE.memory_buffers
IN_MEMORY_WRAPPERS = KNOWLEDGE.in_memory_wrappers
CLOSES_WHEN_EXHAUSTED = KNOWLEDGE.closes_when_exhausted
BORROWS_GIVEN_FILE = KNOWLEDGE.borrows_given_file
KEEPS_FILE = KNOWLEDGE.keeps_file
MAY_BE_DETACHED = KNOWLEDGE.may_be_detached
BORROWED_PARAMS = KNOWLEDGE.borrowed_params
SUBCLASS_BASES = KNOWLEDGE.subclass_bases
# Models whose objects have methods that acquire (a zip archive's ``.open()``).
RECEIVER_MODELS = tuple(
    sorted({m.receiver for found in KNOWLEDGE.method_acquisitions.values() for m in found} - {"any", "path"})
)

__all__ = [name for name in dir() if name.isupper()] + ["ResourceSpec", "candidate_names", "custom_specs"]
