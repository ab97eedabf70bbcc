"""Find the files to check: walk folders for ``*.py``/``*.pyi``, skipping what is not code.

Always skipped while walking: ``.git``, ``__pycache__``, ``.memlint_cache`` and virtual
environments (any folder holding ``pyvenv.cfg``); then the configured ``exclude`` globs
(by default build and dist folders, ``node_modules``, tool caches) and, inside a git work
tree, whatever ``.gitignore`` ignores. Files passed explicitly are always checked unless
``force_exclude`` is set (pre-commit passes every staged file explicitly). Symlinked
folders are followed once each, so a symlink loop cannot recurse forever.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from memlint.config import ConfigResolver

PYTHON_SUFFIXES = (".py", ".pyi")
ALWAYS_SKIPPED_DIRS = frozenset((".git", "__pycache__", ".memlint_cache"))


class PathNotFoundError(FileNotFoundError):
    """A path given to memlint does not exist."""

    def __init__(self, path: str) -> None:
        super().__init__(f"path not found: {path}")
        self.path = path


@dataclass(frozen=True)
class SourcePath:
    """One file to check: its absolute path and the path shown in findings."""

    path: str
    display: str


def display_path(path: str, cwd: str) -> str:
    """``path`` relative to ``cwd`` when it lies inside it, else absolute."""
    if path == cwd:
        return "."
    prefix = cwd.rstrip(os.sep) + os.sep
    return path[len(prefix):] if path.startswith(prefix) else path


def discover(
    paths: Iterable[str],
    resolver: ConfigResolver,
    force_exclude: bool = False,
    cwd: Optional[str] = None,
    warn: Optional[Callable[[str], None]] = None,
) -> List[SourcePath]:
    """The files under ``paths`` to check, sorted and without duplicates.

    Raises ``PathNotFoundError`` for the first path that does not exist, before any work.
    A folder that cannot be listed is skipped, and ``warn`` is told which and why.
    """
    here = cwd or os.getcwd()
    absolute = []
    for given in paths:
        path = os.path.abspath(os.path.join(here, given))
        if not os.path.lexists(path):
            raise PathNotFoundError(given)
        absolute.append(path)

    gitignore = GitIgnore()
    found: Dict[str, SourcePath] = {}
    for path in absolute:
        if force_exclude and _excluded_explicit(path, resolver, gitignore):
            continue
        if os.path.isdir(path):
            for file_path in _walk(path, resolver, gitignore, here, warn):
                found.setdefault(file_path, SourcePath(file_path, display_path(file_path, here)))
        else:
            found.setdefault(path, SourcePath(path, display_path(path, here)))
    return sorted(found.values(), key=lambda source: source.display)


def _excluded_explicit(path: str, resolver: ConfigResolver, gitignore: "GitIgnore") -> bool:
    settings = resolver.for_file(path)
    if settings.is_excluded(path, ancestors=True):
        return True
    parts = path.split(os.sep)
    if any(part in ALWAYS_SKIPPED_DIRS for part in parts[:-1]):
        return True
    return gitignore.is_ignored(path, os.path.isdir(path), ancestors=True)


def _walk(
    top: str,
    resolver: ConfigResolver,
    gitignore: "GitIgnore",
    cwd: str,
    warn: Optional[Callable[[str], None]] = None,
) -> Iterable[str]:
    """Depth-first walk yielding Python files; each real folder is entered once."""
    seen: Set[Tuple[int, int]] = set()
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            info = os.stat(directory)
        except OSError as error:
            _cannot_list(directory, error, cwd, warn)
            continue
        if (info.st_dev, info.st_ino) in seen:
            continue  # a symlink loop, or the same folder reached twice
        seen.add((info.st_dev, info.st_ino))
        try:
            with os.scandir(directory) as iterator:
                entries = sorted(iterator, key=lambda entry: entry.name)
        except OSError as error:
            _cannot_list(directory, error, cwd, warn)
            continue
        settings = resolver.for_directory(directory)
        subdirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name in ALWAYS_SKIPPED_DIRS or os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                if settings.is_excluded(entry.path) or gitignore.is_ignored(entry.path, True):
                    continue
                subdirs.append(entry.path)
            elif entry.name.endswith(PYTHON_SUFFIXES):
                if settings.is_excluded(entry.path) or gitignore.is_ignored(entry.path, False):
                    continue
                yield entry.path
        # Reversed so that popping visits folders in name order.
        pending.extend(reversed(subdirs))


def _cannot_list(directory: str, error: OSError, cwd: str, warn: Optional[Callable[[str], None]]) -> None:
    # Silence would look like a clean result for files that were never seen.
    if warn is not None:
        reason = error.strerror or type(error).__name__
        warn(f"cannot list folder {display_path(directory, cwd)}: {reason}; its files were not checked")


# --------------------------------------------------------------------------- .gitignore


@dataclass(frozen=True)
class _IgnoreRule:
    regex: "re.Pattern[str]"
    negated: bool
    directory_only: bool
    anchored: bool


def _glob_segment(segment: str) -> str:
    """Translate one gitignore path segment (no slashes) into a regular expression."""
    out = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "\\" and index + 1 < len(segment):
            out.append(re.escape(segment[index + 1]))
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = segment.find("]", index + 2 if segment[index + 1 : index + 2] in ("!", "^") else index + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = segment[index + 1 : close]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = close
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def parse_gitignore(text: str) -> List[_IgnoreRule]:
    """The rules of one ``.gitignore`` file, in file order."""
    rules = []
    for raw in text.splitlines():
        line = raw
        # Trailing spaces are ignored unless escaped with a backslash.
        while line.endswith(" ") and not line.endswith("\\ "):
            line = line[:-1]
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        elif line.startswith("\\!") or line.startswith("\\#"):
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        segments = line.split("/")
        pattern = ""
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            if segment == "**" and anchored:
                pattern += ".+" if last else "(?:[^/]+/)*"
            else:
                pattern += _glob_segment(segment) + ("" if last else "/")
        rules.append(_IgnoreRule(re.compile(pattern + r"\Z"), negated, directory_only, anchored))
    return rules


class GitIgnore:
    """Answers 'does git ignore this path?' for paths inside git work trees.

    Reads each ``.gitignore`` (and ``.git/info/exclude``) at most once per run. Outside a
    work tree nothing is ignored.
    """

    def __init__(self) -> None:
        self._roots: Dict[str, Optional[str]] = {}
        self._rules: Dict[str, List[_IgnoreRule]] = {}

    def work_tree(self, directory: str) -> Optional[str]:
        """The root of the git work tree containing ``directory``, if any."""
        if directory in self._roots:
            return self._roots[directory]
        if os.path.exists(os.path.join(directory, ".git")):
            root: Optional[str] = directory
        else:
            parent = os.path.dirname(directory)
            root = None if parent == directory else self.work_tree(parent)
        self._roots[directory] = root
        return root

    def _rules_in(self, path: str) -> List[_IgnoreRule]:
        rules = self._rules.get(path)
        if rules is None:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    rules = parse_gitignore(handle.read())
            except OSError:
                rules = []
            self._rules[path] = rules
        return rules

    def is_ignored(self, path: str, is_dir: bool, ancestors: bool = False) -> bool:
        """Whether git ignores ``path``; with ``ancestors``, also when a parent folder is."""
        root = self.work_tree(os.path.dirname(path))
        if root is None:
            return False
        if ancestors:
            current = os.path.dirname(path)
            while len(current) > len(root):
                if self._matches(current, True, root):
                    return True
                current = os.path.dirname(current)
        return self._matches(path, is_dir, root)

    def _matches(self, path: str, is_dir: bool, root: str) -> bool:
        # Sources from lowest to highest precedence: info/exclude, then .gitignore files
        # from the root down. The last matching rule of the highest source decides.
        sources = [(root, os.path.join(root, ".git", "info", "exclude"))]
        relative_dir = os.path.relpath(os.path.dirname(path), root)
        folder = root
        sources.append((folder, os.path.join(folder, ".gitignore")))
        if relative_dir != ".":
            for part in relative_dir.split(os.sep):
                folder = os.path.join(folder, part)
                sources.append((folder, os.path.join(folder, ".gitignore")))
        name = os.path.basename(path)
        for base, ignore_file in reversed(sources):
            rules = self._rules_in(ignore_file)
            if not rules:
                continue
            relative = os.path.relpath(path, base).replace(os.sep, "/")
            for rule in reversed(rules):
                if rule.directory_only and not is_dir:
                    continue
                if rule.regex.match(relative if rule.anchored else name):
                    return not rule.negated
        return False

