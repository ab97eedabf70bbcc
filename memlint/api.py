"""The library API. It returns findings and never prints.

Data flows one way: discovery (which files) -> engine (findings of one file) ->
suppression and selection (what the user asked to see) -> the caller, which may hand the
result to a reporter. ``check_source`` and ``check_paths`` are the public entry points;
``check_files`` and ``check_stdin`` are what the command line builds on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from memlint.config import Config, ConfigResolver, Settings, config_from_mapping, resolve
from memlint.diagnostics import Finding
from memlint.discovery import SourcePath, discover, display_path
from memlint.engine import INTERNAL_ERROR, PARSE_ERROR, check_text, decode_source, run_with_deep_stack
from memlint.rules import RULE_CLASSES, load_rules
from memlint.rules.base import Rule
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
    """Rule instances, created once per distinct set of enabled codes in a run."""

    def __init__(self) -> None:
        self._rules: Dict[FrozenSet[str], List[Rule]] = {}

    def for_codes(self, codes: FrozenSet[str]) -> List[Rule]:
        key = frozenset(code for code in codes if code in RULE_CLASSES)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = load_rules(sorted(key))
        return rules


def check_one(
    source: Source,
    path: str,
    settings: Settings,
    codes: FrozenSet[str],
    rule_set: RuleSet,
) -> Tuple[List[Finding], Optional[str]]:
    """Findings for one file's source after selection and suppressions, and its decoded
    text when there are findings (``None`` otherwise, or when it cannot be decoded)."""
    findings = [f for f in check_text(source, path, rule_set.for_codes(codes), settings.options) if f.code in codes]
    if not findings and UNUSED_NOQA not in codes:
        return [], None  # the common case pays for neither decoding nor tokenizing
    text = _text(source)
    parsed = not any(finding.code == PARSE_ERROR for finding in findings)
    if parsed and text is not None and might_have_directives(text):
        findings = apply_suppressions(findings, parse_directives(text), codes, path)
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


def check_files(files: Sequence[SourcePath], resolver: ConfigResolver) -> CheckResult:
    """Check discovered files, each with the settings of its nearest config."""
    rule_set = RuleSet()

    def work() -> CheckResult:
        result = CheckResult()
        for source in files:
            settings = resolver.for_file(source.path)
            data = _read(source.path, source.display)
            result.files_checked += 1
            if isinstance(data, Finding):
                result.findings.append(data)
                continue
            findings, text = check_one(data, source.display, settings, settings.codes_for(source.path), rule_set)
            result.findings.extend(findings)
            if text is not None:
                result.sources[source.display] = text
        result.findings.sort(key=Finding.sort_key)
        return result

    # One thread with a deep stack for the whole run rather than one per file.
    return run_with_deep_stack(work)


def check_stdin(
    data: bytes,
    resolver: ConfigResolver,
    filename: Optional[str] = None,
    force_exclude: bool = False,
) -> CheckResult:
    """Check source read from standard input, as if it were the file ``filename``."""
    cwd = os.getcwd()
    if filename is None:
        path, display = os.path.join(cwd, "-"), "-"
    else:
        path = os.path.abspath(filename)
        display = display_path(path, cwd)
    settings = resolver.for_file(path)
    if force_exclude and filename is not None and settings.is_excluded(path, ancestors=True):
        return CheckResult()
    rule_set = RuleSet()
    findings, text = run_with_deep_stack(lambda: check_one(data, display, settings, settings.codes_for(path), rule_set))
    return CheckResult(findings, {display: text} if text is not None else {}, 1)


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
    rule_set = RuleSet()
    findings, _ = run_with_deep_stack(lambda: check_one(source, path, settings, codes, rule_set))
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
