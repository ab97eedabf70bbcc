"""Configuration: ``[tool.memlint]`` in ``pyproject.toml`` or the top level of ``memlint.toml``.

Reading is strict: a misspelt key, a wrong type or an unknown rule code raises
``ConfigError`` whose one-line message names the key and the file, because a silently
ignored setting is worse than a refused one.

Three layers decide what a run does, later ones winning: the rules' defaults (``default:``
in each ``rules/<CODE>.md``), the config file nearest to each checked file, and the command
line (``Overrides``). ``Settings`` is the resolved result that the rest of memlint reads.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from memlint.diagnostics import CONFIDENCE_LEVELS
from memlint.engine import INTERNAL_ERROR, PARSE_ERROR, TARGET_VERSIONS
from memlint.knowledge import ConfiguredResource, KnowledgeError, check_configured, parse_configured
from memlint.reporters import OUTPUT_FORMATS
from memlint.rules.base import RuleOptions
from memlint.specs import RuleSpec, load_specs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

CONFIG_FILENAMES = ("memlint.toml", "pyproject.toml")

# Codes that describe whether a file could be checked at all: never deselected or suppressed.
ALWAYS_REPORTED: FrozenSet[str] = frozenset((PARSE_ERROR, INTERNAL_ERROR))

# Folders skipped by default; ``exclude`` replaces this list, ``extend-exclude`` adds to it.
DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".bzr", ".direnv", ".eggs", ".hg", ".mypy_cache", ".nox", ".pytest_cache", ".ruff_cache",
    ".svn", ".tox", ".venv", "__pypackages__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv", "*.egg-info",
)

_LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude")
_TABLE_KEYS = ("per-file-ignores", "resources", "leaks")
KNOWN_KEYS: Tuple[str, ...] = _LIST_KEYS + _TABLE_KEYS + ("output-format", "target-version", "confidence")
LEAKS_KEYS = ("enabled", "mode", "scope", "allow", "grace-period")

_SELECTOR_RE = re.compile(r"^[A-Z]+[0-9]*$")
_DOTTED_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """Invalid configuration or selection; the message is one line meant for the user."""


@dataclass(frozen=True)
class Config:
    """One validated configuration table, as written (nothing resolved yet).

    ``root`` is the directory that relative ``exclude`` and ``per-file-ignores`` patterns
    are matched against (the config file's folder; ``None`` means the working directory).
    """

    select: Optional[Tuple[str, ...]] = None
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    output_format: Optional[str] = None
    target_version: Optional[str] = None
    confidence: Optional[str] = None
    resources: Mapping[str, ConfiguredResource] = field(default_factory=dict)
    leaks: Mapping[str, Any] = field(default_factory=dict)
    root: Optional[str] = None
    source: Optional[str] = None


@dataclass(frozen=True)
class Overrides:
    """Settings given on the command line; ``None`` means 'not given'."""

    select: Optional[Tuple[str, ...]] = None
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()
    output_format: Optional[str] = None
    target_version: Optional[str] = None
    confidence: Optional[str] = None


# --------------------------------------------------------------------------- reading files


def read_toml(path: Path) -> Dict[str, Any]:
    """Parse a TOML file, turning every failure into a ``ConfigError`` naming the file."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"invalid TOML in {path}: {error}") from error


def _memlint_table(path: Path, document: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    """The memlint table of a parsed file, or ``None`` when a pyproject has none."""
    if path.name != "pyproject.toml":
        return document
    tool = document.get("tool")
    if not isinstance(tool, Mapping) or "memlint" not in tool:
        return None
    table = tool["memlint"]
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.memlint] must be a table")
    return table


# A ``[tool.memlint]`` header (or ``[tool.memlint.x]``) or a ``tool.memlint...`` dotted key,
# found in the text of a pyproject.toml that does not parse.
_MEMLINT_TABLE_RE = re.compile(
    r"""^[ \t]*(?:\[+[ \t]*["']?tool["']?[ \t]*\.[ \t]*["']?memlint\b|tool[ \t]*\.[ \t]*memlint[ \t]*[.=])""",
    re.MULTILINE,
)

Warn = Callable[[str], None]


def _ignore_warning(message: str) -> None:
    """The default for callers that have nowhere to show a warning."""


def _pyproject_table(path: Path, warn: Warn) -> Optional[Mapping[str, Any]]:
    """The ``[tool.memlint]`` table of a pyproject.toml, or ``None`` when it has none.

    A pyproject.toml that cannot be read or parsed stops the run only if its text holds
    memlint's table: test fixtures of packaging tools are often broken on purpose, and
    memlint would not use them anyway. The others are passed over with a warning.
    """
    try:
        return _memlint_table(path, read_toml(path))
    except ConfigError as error:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if _MEMLINT_TABLE_RE.search(text):
            raise
        warn(f"{error}; passed over (it holds no [tool.memlint])")
        return None


def config_file_in(folder: Path, warn: Warn = _ignore_warning) -> Optional[Path]:
    """The config file in ``folder`` itself: ``memlint.toml``, else a ``pyproject.toml``
    that has a ``[tool.memlint]`` table, else ``None``."""
    candidate = folder / "memlint.toml"
    if candidate.is_file():
        return candidate
    candidate = folder / "pyproject.toml"
    if candidate.is_file() and _pyproject_table(candidate, warn) is not None:
        return candidate
    return None


def find_config_file(start: Path, warn: Warn = _ignore_warning) -> Optional[Path]:
    """The nearest config file in ``start`` (a directory) or any folder above it."""
    directory = Path(os.path.abspath(start))
    for folder in (directory, *directory.parents):
        found = config_file_in(folder, warn)
        if found is not None:
            return found
    return None


def load_config_file(path: Path) -> Config:
    """Read and validate one config file (a pyproject without ``[tool.memlint]`` is empty)."""
    path = Path(path)
    table = _memlint_table(path, read_toml(path))
    # Not resolved: checked paths are absolute but unresolved too, and must share a prefix.
    root = os.path.dirname(os.path.abspath(path))
    return config_from_mapping(table or {}, source=str(path), root=root)


def load_leaks_table(start_dir: "os.PathLike[str] | str") -> Dict[str, Any]:
    """The validated ``leaks`` table of the config nearest to ``start_dir`` (``{}`` if none).

    Keys are as written in the file (``enabled``, ``mode``, ``scope``, ``allow``,
    ``grace-period``); raises ``ConfigError`` on an invalid table.
    """
    path = find_config_file(Path(start_dir))
    if path is None:
        return {}
    return dict(load_config_file(path).leaks)


# --------------------------------------------------------------------------- validation


def config_from_mapping(table: Mapping[str, Any], source: str = "<config>", root: Optional[str] = None) -> Config:
    """Validate a ``[tool.memlint]``-shaped mapping; errors name the key and ``source``."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: the memlint configuration must be a table, got {_type_name(table)}")
    where = "[tool.memlint]" if source.endswith("pyproject.toml") else "memlint config"
    tool = table.get("tool")
    if source.endswith("memlint.toml") and isinstance(tool, Mapping) and "memlint" in tool:
        raise ConfigError(
            f"{source}: memlint.toml holds the settings at its top level: drop the [tool.memlint] header "
            "(that header belongs in pyproject.toml)"
        )
    for key in table:
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{source}: unknown key {key!r} in {where}{_suggest(key, KNOWN_KEYS)}")

    def strings(key: str) -> Optional[Tuple[str, ...]]:
        if key not in table:
            return None
        return _string_list(table[key], f"{source}: {key}")

    def selectors(key: str) -> Optional[Tuple[str, ...]]:
        # Codes are accepted in any case (mem001), as on the command line and in noqa.
        found = strings(key)
        return None if found is None else tuple(selector.upper() for selector in found)

    per_file: List[Tuple[str, Tuple[str, ...]]] = []
    raw_per_file = table.get("per-file-ignores", {})
    if not isinstance(raw_per_file, Mapping):
        raise ConfigError(f"{source}: per-file-ignores must be a table of glob = [codes], got {_type_name(raw_per_file)}")
    for pattern, codes in raw_per_file.items():
        codes = _string_list(codes, f"{source}: per-file-ignores.{pattern!r}")
        per_file.append((pattern, tuple(code.upper() for code in codes)))

    output_format = table.get("output-format")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        raise ConfigError(
            f"{source}: output-format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}"
        )

    target_version = table.get("target-version")
    if target_version is not None and target_version not in TARGET_VERSIONS:
        raise ConfigError(
            f"{source}: target-version must be one of {', '.join(TARGET_VERSIONS)}, got {target_version!r}"
        )

    confidence = table.get("confidence")
    if confidence is not None and confidence not in CONFIDENCE_LEVELS:
        raise ConfigError(
            f"{source}: confidence must be one of {', '.join(CONFIDENCE_LEVELS)}, got {confidence!r}"
        )

    for key in ("select", "ignore", "extend-select"):
        for selector in selectors(key) or ():
            _check_selector_syntax(selector, f"{source}: {key}")
    for _, codes in per_file:
        for selector in codes:
            _check_selector_syntax(selector, f"{source}: per-file-ignores")

    return Config(
        select=selectors("select"),
        ignore=selectors("ignore") or (),
        extend_select=selectors("extend-select") or (),
        exclude=strings("exclude"),
        extend_exclude=strings("extend-exclude") or (),
        per_file_ignores=tuple(per_file),
        output_format=output_format,
        target_version=target_version,
        confidence=confidence,
        resources=_resources(table.get("resources", {}), source),
        leaks=_leaks(table.get("leaks", {}), source),
        root=root,
        source=source,
    )


def _resources(raw: Any, source: str) -> Dict[str, ConfiguredResource]:
    """``"mylib.connect" = "close"``, or ``"mylib.connect" = { release = ["close"], kind = ... }``
    with any field of a knowledge model (``memlint.knowledge.CONFIG_FIELDS``), checked as
    the shipped models are; the entries together must make one consistent knowledge."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: resources must be a table of \"dotted.name\" = \"release_method\"")
    resources: Dict[str, ConfiguredResource] = {}
    for name, value in raw.items():
        if not _DOTTED_RE.match(name):
            raise ConfigError(f"{source}: resources key {name!r} is not a dotted name like 'mylib.connect'")
        if isinstance(value, Mapping):
            try:
                resources[name] = parse_configured(name, value, f"{source}: resources.{name!r}")
            except KnowledgeError as error:
                raise ConfigError(str(error)) from None
            continue
        if not isinstance(value, str) or not _IDENTIFIER_RE.match(value):
            raise ConfigError(
                f"{source}: resources.{name!r} must be a method name like \"close\" or a table of model fields, got {value!r}"
            )
        resources[name] = value
    try:
        check_configured(resources, source)
    except KnowledgeError as error:
        raise ConfigError(str(error)) from None
    return resources


def _leaks(raw: Any, source: str) -> Dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: leaks must be a table, got {_type_name(raw)}")
    for key, value in raw.items():
        name = f"{source}: leaks.{key}"
        if key not in LEAKS_KEYS:
            raise ConfigError(f"{source}: unknown key {key!r} in leaks{_suggest(key, LEAKS_KEYS)}")
        if key == "enabled" and not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        if key == "mode" and value not in ("fail", "warn"):
            raise ConfigError(f"{name} must be \"fail\" or \"warn\", got {value!r}")
        if key == "scope" and value not in ("test", "call"):
            raise ConfigError(f"{name} must be \"test\" or \"call\", got {value!r}")
        if key == "allow":
            _string_list(value, name)
        if key == "grace-period" and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0
        ):
            raise ConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return {key: (list(value) if isinstance(value, list) else value) for key, value in raw.items()}


def _string_list(value: Any, name: str) -> Tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name} must be a list of strings, got {_type_name(value)}")
    return tuple(value)


def _check_selector_syntax(selector: str, name: str) -> None:
    if selector != "ALL" and not _SELECTOR_RE.match(selector):
        raise ConfigError(f"{name}: {selector!r} is not a rule code or prefix (like MEM001, MEM0 or ALL)")


def _type_name(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib  # only on a configuration error: not on every run's start

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- resolution


def expand_selector(selector: str, specs: Mapping[str, RuleSpec], where: str = "") -> List[str]:
    """The codes a selector names: an exact code, a prefix such as ``MEM0``, or ``ALL``."""
    _check_selector_syntax(selector, where or "selector")
    if selector == "ALL":
        return list(specs)
    codes = [code for code in specs if code.startswith(selector)]
    if not codes:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown rule code or prefix {selector!r}{_suggest(selector, specs)}")
    return codes


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


def resolve_codes(
    layers: Sequence[Tuple[Optional[Sequence[str]], Sequence[str], Sequence[str], str]],
    specs: Mapping[str, RuleSpec],
) -> FrozenSet[str]:
    """Apply ``(select, extend_select, ignore, where)`` layers over the specs' defaults.

    Within one layer the most specific selector wins (``--select MEM001 --ignore MEM``
    keeps MEM001), and an ignore beats a select of equal specificity. A layer with
    ``select`` starts from nothing; one without starts from the previous layer's result.
    """
    enabled = {code for code, spec in specs.items() if spec.default}
    for select, extend_select, ignore, where in layers:
        best: Dict[str, Tuple[int, bool]] = {}

        def mark(selectors: Sequence[str], on: bool) -> None:
            for selector in selectors:
                weight = _specificity(selector)
                for code in expand_selector(selector, specs, where):
                    current = best.get(code)
                    # Ties go to ignore, so on=False must replace an equal on=True.
                    if current is None or weight > current[0] or (weight == current[0] and not on):
                        best[code] = (weight, on)

        mark(list(select or ()) + list(extend_select), True)
        mark(ignore, False)
        if select is not None:
            enabled = set()
        for code, (_, on) in best.items():
            if on:
                enabled.add(code)
            else:
                enabled.discard(code)
    return frozenset(enabled | (ALWAYS_REPORTED & set(specs)))


class PathPattern:
    """A glob from ``exclude`` or ``per-file-ignores``, with the folder it is relative to.

    A glob with a slash is matched against the path relative to ``base``; one without is
    matched against names, so ``build`` matches every folder called build.
    """

    __slots__ = ("glob", "base", "_anchored", "_match", "_prefix")

    def __init__(self, glob: str, base: str) -> None:
        self.glob = glob
        self.base = base
        pattern = glob.rstrip("/")
        self._anchored = "/" in pattern
        if self._anchored:
            pattern = pattern[2:] if pattern.startswith("./") else pattern.lstrip("/")
        # Compiled once: patterns are matched against every file and folder of a run.
        self._match = re.compile(fnmatch.translate(pattern)).match
        self._prefix = base.rstrip(os.sep) + os.sep

    def __repr__(self) -> str:
        return f"PathPattern({self.glob!r}, {self.base!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathPattern) and (self.glob, self.base) == (other.glob, other.base)

    def __hash__(self) -> int:
        return hash((self.glob, self.base))

    def matches(self, path: str, ancestors: bool = False) -> bool:
        """Whether ``path`` (absolute) matches; with ``ancestors``, also when a folder above
        it, up to ``base``, does. Outside ``base`` only a name glob can match, by the
        path's own name."""
        relative = path[len(self._prefix):].replace(os.sep, "/") if path.startswith(self._prefix) else None
        if self._anchored:
            if relative is None:
                return False
            if not ancestors:
                return self._match(relative) is not None
            parts = relative.split("/")
            return any(self._match("/".join(parts[:end])) for end in range(1, len(parts) + 1))
        if ancestors and relative is not None:
            return any(self._match(name) for name in relative.split("/"))
        return self._match(os.path.basename(path)) is not None


@dataclass(frozen=True)
class Settings:
    """Everything resolved that checking one file (or one folder's files) needs."""

    enabled: FrozenSet[str]
    exclude: Tuple[PathPattern, ...]
    per_file_ignores: Tuple[Tuple[PathPattern, FrozenSet[str]], ...]
    options: RuleOptions
    output_format: str = "full"
    source: Optional[str] = None
    # The Python version files are parsed as (py39 ...); None: any version memlint can read.
    target_version: Optional[str] = None
    # The least confidence a finding needs to be reported ("high": only the surest kinds).
    confidence: str = "high"

    def codes_for(self, path: str) -> FrozenSet[str]:
        """The enabled codes for one file after its ``per-file-ignores``."""
        ignored = set()
        for pattern, codes in self.per_file_ignores:
            if pattern.matches(path, ancestors=True):
                ignored |= codes
        return self.enabled - (ignored - ALWAYS_REPORTED)

    def is_excluded(self, path: str, ancestors: bool = False) -> bool:
        """Whether ``path`` (absolute) matches an exclude pattern; with ``ancestors``,
        also when a folder above it does (for paths given explicitly)."""
        return any(pattern.matches(path, ancestors) for pattern in self.exclude)


def resolve(
    config: Config,
    overrides: Overrides = Overrides(),
    specs: Optional[Mapping[str, RuleSpec]] = None,
    cwd: Optional[str] = None,
) -> Settings:
    """Combine the rule defaults, one ``Config`` and the command-line ``Overrides``."""
    specs = specs if specs is not None else load_specs()
    here = cwd or os.getcwd()
    config_base = config.root or here
    where = config.source or "config"
    enabled = resolve_codes(
        [
            (config.select, config.extend_select, config.ignore, where),
            (overrides.select, overrides.extend_select, overrides.ignore, "command line"),
        ],
        specs,
    )
    if overrides.exclude is not None:
        exclude = [PathPattern(glob, here) for glob in overrides.exclude]
    elif config.exclude is not None:
        exclude = [PathPattern(glob, config_base) for glob in config.exclude]
    else:
        exclude = [PathPattern(glob, config_base) for glob in DEFAULT_EXCLUDE]
    exclude += [PathPattern(glob, config_base) for glob in config.extend_exclude]
    exclude += [PathPattern(glob, here) for glob in overrides.extend_exclude]
    per_file = []
    for glob, selectors in config.per_file_ignores:
        codes = set()
        for selector in selectors:
            codes.update(expand_selector(selector, specs, f"{where}: per-file-ignores"))
        per_file.append((PathPattern(glob, config_base), frozenset(codes)))
    return Settings(
        enabled=enabled,
        exclude=tuple(exclude),
        per_file_ignores=tuple(per_file),
        options=RuleOptions(resources=dict(config.resources)),
        output_format=overrides.output_format or config.output_format or "full",
        source=config.source,
        target_version=overrides.target_version or config.target_version,
        confidence=overrides.confidence or config.confidence or CONFIDENCE_LEVELS[0],
    )


class ConfigResolver:
    """Finds and caches the ``Settings`` for each folder of a run.

    With ``config_file`` every path uses that file; with ``isolated`` no file is read.
    Otherwise each path uses the nearest config file above it, as ruff does.
    """

    def __init__(
        self,
        overrides: Overrides = Overrides(),
        config_file: Optional[Path] = None,
        isolated: bool = False,
        config: Optional[Config] = None,
        warn: Warn = _ignore_warning,
    ) -> None:
        if isolated and config_file is not None:
            raise ConfigError("--isolated and --config cannot be used together")
        self.overrides = overrides
        self._warn = warn
        self.specs = load_specs()
        self._cwd = os.getcwd()
        self._fixed: Optional[Settings] = None
        if config is not None:
            self._fixed = resolve(config, overrides, self.specs, self._cwd)
        elif config_file is not None:
            if not Path(config_file).is_file():
                raise ConfigError(f"config file not found: {config_file}")
            self._fixed = resolve(load_config_file(Path(config_file)), overrides, self.specs, self._cwd)
        elif isolated:
            self._fixed = resolve(Config(), overrides, self.specs, self._cwd)
        self._by_dir: Dict[str, Settings] = {}

    def for_directory(self, directory: str) -> Settings:
        """Settings for the files directly inside ``directory`` (an absolute path).

        Each folder is looked at once per run: a folder without a config file shares
        its parent's settings.
        """
        if self._fixed is not None:
            return self._fixed
        settings = self._by_dir.get(directory)
        if settings is None:
            found = config_file_in(Path(directory), self._warn)
            parent = os.path.dirname(directory)
            if found is not None:
                settings = resolve(load_config_file(found), self.overrides, self.specs, self._cwd)
            elif parent != directory:
                settings = self.for_directory(parent)
            else:
                settings = resolve(Config(), self.overrides, self.specs, self._cwd)
            self._by_dir[directory] = settings
        return settings

    def for_file(self, path: str) -> Settings:
        """Settings for the file at ``path`` (an absolute path)."""
        return self.for_directory(os.path.dirname(path))

    def for_run(self) -> Settings:
        """Settings for run-wide choices such as the output format (from the working folder)."""
        return self.for_directory(self._cwd)
