"""The library API. It returns findings and never prints.

Data flows one way: discovery (which files) -> engine (findings of one file) ->
suppression and selection (what the user asked to see) -> the caller, which may hand the
result to a reporter. ``check_source`` and ``check_paths`` are the public entry points;
``check_files`` and ``check_stdin`` are what the command line builds on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

from memlint.cache import Cache, content_digest
from memlint.config import Config, ConfigResolver, config_from_mapping, resolve
from memlint.diagnostics import CONFIDENCE_LEVELS, Finding, confident_enough
from memlint.discovery import SourcePath, discover, display_path
from memlint.engine import INTERNAL_ERROR, PARSE_ERROR, check_text, decode_source, run_with_deep_stack
from memlint.parallel import WorkerPool, make_batches, ordered_map
from memlint.prefilter import needs_analysis
from memlint.project_facts import MIN_FILES_FOR_INDEX_WORKERS, project_facts
from memlint.rules import RULE_CLASSES, load_rules
from memlint.rules.base import Rule, RuleOptions
from memlint.suppression import UNUSED_NOQA, apply_suppressions, might_have_directives, parse_directives

ConfigLike = Union[Config, Mapping[str, Any], None]
Source = Union[str, bytes]


@dataclass
class CheckResult:
    """The outcome of checking some files."""

    findings: List[Finding] = field(default_factory=list)
    # Display path -> decoded text, kept only for files with findings (for caret lines).
    sources: Dict[str, str] = field(default_factory=dict)
    files_checked: int = 0

    @property
    def has_internal_error(self) -> bool:
        """Whether memlint itself failed on some file (``MEM900``)."""
        return any(finding.code == INTERNAL_ERROR for finding in self.findings)


class RuleSet:
    """Rule instances, created once per distinct set of enabled codes (and the classes
    registered for them) and reused for every file."""

    def __init__(self) -> None:
        self._rules: Dict[FrozenSet[Tuple[str, str]], List[Rule]] = {}

    def for_codes(self, codes: FrozenSet[str]) -> List[Rule]:
        key = frozenset((code, RULE_CLASSES[code]) for code in codes if code in RULE_CLASSES)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = load_rules(sorted(code for code, _ in key))
        return rules


def check_one(
    source: Source,
    path: str,
    options: RuleOptions,
    codes: FrozenSet[str],
    rule_set: RuleSet,
    prefilter: bool = True,
    target: Optional[str] = None,
    regions: bool = True,
    confidence: str = CONFIDENCE_LEVELS[0],
) -> Tuple[List[Finding], Optional[str]]:
    """Findings for one file's source after selection and suppressions, and its decoded
    text when there are findings (``None`` otherwise, or when it cannot be decoded).
    ``target`` is the Python version to parse as (``target-version``); ``confidence`` the
    least confidence reported (suppressions see every finding first, so a ``noqa`` for a
    finding not shown is not an unused one).

    With ``prefilter`` a file that names nothing the rules look at is only checked for
    syntax; the result is the same, minus the cost of libcst (``memlint.prefilter``).
    """
    run_rules = bool(codes & RULE_CLASSES.keys())
    if run_rules and prefilter:
        data = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
        run_rules = needs_analysis(options.resources, codes)(data)
        if not run_rules and options.project_resources:
            from memlint.analysis.project_index import mentions_any

            run_rules = mentions_any(options.project_resources, data)
    # Rules are loaded (and libcst imported) only once a file actually needs them.
    rules = rule_set.for_codes(codes) if run_rules else []
    findings = [f for f in check_text(source, path, rules, options, prefilter, target, regions) if f.code in codes]
    if not findings and UNUSED_NOQA not in codes:
        return [], None  # the common case pays for neither decoding nor tokenizing
    text = _text(source)
    parsed = not any(finding.code == PARSE_ERROR for finding in findings)
    if parsed and text is not None and might_have_directives(text):
        findings = apply_suppressions(findings, parse_directives(text), codes, path)
    findings = [finding for finding in findings if confident_enough(finding.confidence, confidence)]
    return findings, (text if findings else None)


def _text(source: Source) -> Optional[str]:
    if isinstance(source, str):
        return source
    try:
        return decode_source(source)
    except SyntaxError:
        return None


def _read(path: str, display: str) -> Union[bytes, Finding]:
    """A file's bytes, or a MEM000 finding saying why it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return Finding(display, 1, 1, 1, 1, PARSE_ERROR, f"cannot read file: {reason}")


@dataclass(frozen=True)
class FileTask:
    """One file to check, small enough to send to a worker process (no file contents)."""

    path: str
    display: str
    codes: FrozenSet[str]
    options: RuleOptions
    # The content hash the cache lookup saw; the worker's result is cacheable only if the
    # bytes it reads still hash the same (the file may change in between).
    digest: Optional[str]
    prefilter: bool
    target: Optional[str] = None
    regions: bool = True
    confidence: str = CONFIDENCE_LEVELS[0]


@dataclass(frozen=True)
class FileOutcome:
    findings: List[Finding]
    text: Optional[str]
    cacheable: bool


# One per process: workers build their rules once and reuse them for every batch.
_RULE_SET = RuleSet()


def _check_task(task: FileTask) -> FileOutcome:
    data = _read(task.path, task.display)
    if isinstance(data, Finding):
        return FileOutcome([data], None, False)
    findings, text = check_one(
        data, task.display, task.options, task.codes, _RULE_SET, task.prefilter, task.target, task.regions,
        task.confidence,
    )
    cacheable = task.digest is not None and content_digest(data) == task.digest
    cacheable = cacheable and not any(finding.code == INTERNAL_ERROR for finding in findings)
    return FileOutcome(findings, text, cacheable)


def check_batch(tasks: List[FileTask]) -> List[FileOutcome]:
    """Check a batch of files in this process (the unit of work of ``--jobs``)."""
    # One thread with a deep stack per batch rather than one per file.
    return run_with_deep_stack(lambda: [_check_task(task) for task in tasks])


# Below this many files to analyse, starting worker processes costs more than it saves.
MIN_FILES_FOR_WORKERS = 8
# A small run starts one worker per this many files that will likely be parsed: each worker
# imports libcst (about 0.15 s of CPU), which a few files do not repay.
FILES_PER_EARLY_WORKER = 4


def _warm_up(code_sets: Tuple[FrozenSet[str], ...]) -> None:
    """What a worker of an early pool does before any file arrives: import libcst and build
    the rules of the run (``memlint.parallel.WorkerPool``)."""
    import libcst.metadata  # noqa: F401

    for codes in code_sets:
        _RULE_SET.for_codes(codes)


def _cached(cache: Optional[Cache], source: SourcePath, settings: Any, codes: FrozenSet[str],
            digest: Optional[str], index_key: Optional[str], used: Optional[Tuple[Any, ...]]) -> bool:
    """Whether the cache holds the file's findings, as far as can be told before the project
    index: a file whose facts are not cached changed (or its package did), so its findings
    are not either; outside a package (no index key) a file has no facts."""
    if cache is None or digest is None or (used is None and index_key is not None):
        return False
    summaries = used or settings.options.project_resources
    key = cache.key(digest, source.display, codes, settings.options.resources, settings.target_version, summaries,
                    settings.confidence)
    return cache.has(key, source.display)


def _early_pool(likely: int, code_sets: Set[FrozenSet[str]], jobs: int, isolate: bool) -> Optional[WorkerPool]:
    """For a small run (the project index is built in this process), workers started now,
    before the index and the cache lookups, when ``likely`` files will need libcst."""
    workers = min(jobs, -(-likely // FILES_PER_EARLY_WORKER))
    if likely == 0 or (workers <= 1 and not isolate):
        return None
    from functools import partial

    return WorkerPool(workers, partial(_warm_up, tuple(code_sets)))


def check_files(
    files: Sequence[SourcePath],
    resolver: ConfigResolver,
    jobs: int = 1,
    cache: Optional[Cache] = None,
    prefilter: bool = True,
    isolate: bool = False,
    regions: bool = True,
) -> CheckResult:
    """Check discovered files, each with the settings of its nearest config.

    ``jobs`` worker processes share the files not answered by ``cache``; the result is
    the same for any ``jobs``, with or without a cache, with or without the prefilter,
    with or without ``regions`` (libcst parsing only what can hold a finding).
    With ``isolate`` even one file is checked in a worker process (never in this one),
    which keeps this process's main thread free to act on Ctrl-C at once.
    """
    result = CheckResult(files_checked=len(files))
    # Stage 0 (docs/architecture.md): what other modules of each file's project make. A warm
    # run takes a file's facts from the cache while nothing in its package changed; the
    # others are computed together (``memlint.project_facts``), before the cache lookups,
    # whose keys include them.
    from memlint.analysis.project_index import ProjectIndex

    fingerprints = ProjectIndex()  # here only for the packages' fingerprints
    rows: List[Tuple[SourcePath, Any, FrozenSet[str], Optional[str], Optional[str], Optional[Tuple[Any, ...]], int]] = []
    pending: List[str] = []
    # Whether any file left to check names what the rules start from (the byte prefilter):
    # if none does, no process imports libcst (a pre-commit run of a few such files).
    parser_needed = not prefilter
    # A small run counts the files that will likely be parsed (they need analysis, and the
    # cache does not hold their findings), to start the workers before the index is built
    # (``_early_pool``).
    small = len(files) < MIN_FILES_FOR_INDEX_WORKERS
    likely = 0
    likely_codes: Set[FrozenSet[str]] = set()
    for source in files:
        settings = resolver.for_file(source.path)
        codes = settings.codes_for(source.path)
        data = _read(source.path, source.display)
        if isinstance(data, Finding):
            result.findings.append(data)
            continue
        digest = content_digest(data) if cache is not None else None
        index_key = None
        used: Optional[Tuple[Any, ...]] = ()
        if codes & RULE_CLASSES.keys():
            used = None
            if cache is not None and digest is not None:
                index_key = fingerprints.cache_key(source.path, digest)
                used = cache.index_get(source.display, index_key) if index_key else None
            if used is None:
                pending.append(source.path)
            if small:
                if not prefilter or needs_analysis(settings.options.resources, codes)(data):
                    parser_needed = True
                    if not _cached(cache, source, settings, codes, digest, index_key, used):
                        likely += 1
                        likely_codes.add(codes)
            elif not parser_needed:
                parser_needed = needs_analysis(settings.options.resources, codes)(data)
        rows.append((source, settings, codes, digest, index_key, used, len(data)))
    del fingerprints
    pool = _early_pool(likely, likely_codes, jobs, isolate) if small else None
    checked = 0
    try:
        computed = project_facts(pending, jobs, isolate) if pending else {}
        checked = _check_rows(rows, computed, result, cache, prefilter, regions, jobs, isolate, parser_needed, pool)
    finally:
        if pool is not None:
            pool.close(unused=checked == 0)
    if cache is not None:
        cache.save()
    result.findings.sort(key=Finding.sort_key)
    return result


Row = Tuple[SourcePath, Any, FrozenSet[str], Optional[str], Optional[str], Optional[Tuple[Any, ...]], int]


def _check_rows(
    rows: List[Row],
    computed: Mapping[str, Any],
    result: CheckResult,
    cache: Optional[Cache],
    prefilter: bool,
    regions: bool,
    jobs: int,
    isolate: bool,
    parser_needed: bool,
    pool: Optional[WorkerPool],
) -> int:
    """``check_files`` after the project index: the cache lookups, then the files left
    (how many: the cache answered the others)."""
    tasks: List[FileTask] = []
    sizes: List[int] = []
    keys: Dict[str, str] = {}
    index_keys: Dict[str, Optional[str]] = {}
    for source, settings, codes, digest, index_key, used, size in rows:
        if used is None:
            used = computed[source.path]
        options = replace(settings.options, project_resources=used) if used else settings.options
        if cache is not None and digest is not None:
            index_keys[source.path] = index_key
            keys[source.path] = cache.key(digest, source.display, codes, settings.options.resources,
                                          settings.target_version, options.project_resources, settings.confidence)
            cached = cache.get(keys[source.path], source.display)
            if cached is not None:
                result.findings.extend(cached)
                data = _read(source.path, source.display) if cached else None
                text = _text(data) if isinstance(data, bytes) else None
                if text is not None:
                    result.sources[source.display] = text
                continue
        if used and not parser_needed:
            # The project's facts make a file to check need libcst only when it names one of
            # them, as ``check_one`` asks: a few files naming none are checked without it.
            parser_needed = not prefilter or _names_project_facts(source, used)
        sizes.append(size)
        tasks.append(FileTask(source.path, source.display, codes, options, digest, prefilter,
                              settings.target_version, regions, settings.confidence))

    if pool is not None:
        workers = pool.workers
    else:
        workers = jobs if len(tasks) >= MIN_FILES_FOR_WORKERS else 1
    if pool is None and workers > 1 and parser_needed:
        # Import libcst and load the rules once here; forked workers inherit them.
        _warm_up(tuple({task.codes for task in tasks}))
    batches = make_batches(tasks, sizes, workers=workers)
    outcomes = ordered_map(check_batch, batches, workers, isolate=isolate, pool=pool)
    for task, outcome in zip((task for batch in batches for task in batch), outcomes):
        result.findings.extend(outcome.findings)
        if outcome.text is not None:
            result.sources[task.display] = outcome.text
        if cache is not None and outcome.cacheable:
            cache.put(keys[task.path], task.display, outcome.findings,
                      index_keys.get(task.path), task.options.project_resources)
    return len(tasks)


def _names_project_facts(source: SourcePath, used: Tuple[Any, ...]) -> bool:
    """Whether the file names what other modules of its project make (read again: a small
    run keeps no file's bytes; unreadable now, it counts as naming them)."""
    from memlint.analysis.project_index import mentions_any

    data = _read(source.path, source.display)
    return not isinstance(data, bytes) or mentions_any(used, data)


def check_stdin(
    data: bytes,
    resolver: ConfigResolver,
    filename: Optional[str] = None,
    force_exclude: bool = False,
    isolate: bool = False,
) -> CheckResult:
    """Check source read from standard input, as if it were the file ``filename``
    (in a worker process with ``isolate``, as ``check_files``)."""
    cwd = os.getcwd()
    if filename is None:
        path, display = os.path.join(cwd, "-"), "-"
    else:
        path = os.path.abspath(filename)
        display = display_path(path, cwd)
    settings = resolver.for_file(path)
    if force_exclude and filename is not None and settings.is_excluded(path, ancestors=True):
        return CheckResult()
    codes = settings.codes_for(path)
    task = (data, display, settings.options, codes, settings.target_version, settings.confidence)
    (findings, text), = ordered_map(_check_stdin_batch, [[task]], 1, isolate=isolate)
    return CheckResult(findings, {display: text} if text is not None else {}, 1)


StdinTask = Tuple[bytes, str, RuleOptions, FrozenSet[str], Optional[str], str]


def _check_stdin_batch(tasks: List[StdinTask]) -> List[Tuple[List[Finding], Optional[str]]]:
    """``check_stdin``'s unit of work; module-level so that a worker process can run it."""
    return [run_with_deep_stack(lambda: check_one(data, display, options, codes, _RULE_SET, target=target,
                                                   confidence=least))
            for data, display, options, codes, target, least in tasks]


def as_config(config: ConfigLike) -> Optional[Config]:
    """Accept a ``Config``, a ``[tool.memlint]``-shaped mapping, or ``None``."""
    if config is None or isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return config_from_mapping(config, source="<config argument>")
    raise TypeError(f"config must be a memlint.config.Config, a mapping or None, not {type(config).__name__}")


def check_source(source: Source, path: str = "<string>", config: ConfigLike = None) -> List[Finding]:
    """Check one piece of source text as if it were the file ``path``.

    ``config`` is a ``memlint.config.Config``, a mapping shaped like ``[tool.memlint]``
    (e.g. ``{"select": ["MEM001"]}``), or ``None`` for the defaults; no config file is read.
    Suppression comments in ``source`` apply. Raises ``memlint.config.ConfigError`` on an
    invalid ``config``.
    """
    settings = resolve(as_config(config) or Config())
    codes = settings.codes_for(os.path.abspath(path))
    findings, _ = run_with_deep_stack(
        lambda: check_one(source, path, settings.options, codes, _RULE_SET, target=settings.target_version,
                          confidence=settings.confidence)
    )
    return findings


def check_paths(paths: Iterable[Union[str, "os.PathLike[str]"]], config: ConfigLike = None) -> List[Finding]:
    """Check files and folders as ``memlint check PATHS`` does, returning sorted findings.

    With ``config=None`` each file uses its nearest ``pyproject.toml``/``memlint.toml``;
    otherwise ``config`` applies to every file. Raises
    ``memlint.discovery.PathNotFoundError`` (a ``FileNotFoundError``) for a missing path and
    ``memlint.config.ConfigError`` for an invalid configuration.
    """
    resolver = ConfigResolver(config=as_config(config))
    files = discover([os.fspath(path) for path in paths], resolver)
    return check_files(files, resolver).findings
