"""What ``memlint check --fix`` / ``--diff`` do with the files of one run.

The command line checks the files first (with its cache and worker processes); this
module then fixes only the files whose findings include a fixable code, each with the
settings of its own configuration, and hands back the findings that remain so that the
report and the exit code describe the files as they are after the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set

from memlint.diagnostics import Finding
from memlint.engine import run_with_deep_stack
from memlint.fixes.files import FileFix, fix_file

# The codes whose findings may carry a fix.
FIXABLE_CODES = frozenset({"MEM001", "MEM003", "MEM041", "MEM051", "MEM053"})
PARSE_ERROR = "MEM000"


@dataclass
class FixRun:
    """The files a run fixed (or would fix, for ``--diff``) and the findings left."""

    files: List[FileFix] = field(default_factory=list)
    findings: List[Finding] = field(default_factory=list)
    # Display path -> text after the fix, for reporters that show source lines.
    sources: Dict[str, str] = field(default_factory=dict)
    # "path: reason" for each file that could not be read or written (left as it was).
    errors: List[str] = field(default_factory=list)

    @property
    def changed(self) -> List[FileFix]:
        return [item for item in self.files if item.changed]

    @property
    def fixed_count(self) -> int:
        return sum(len({id(f) for f in item.outcome.fixed}) for item in self.changed)

    def diff(self) -> str:
        return "".join(item.diff() for item in self.changed)


def files_to_fix(findings: Sequence[Finding]) -> Set[str]:
    """Display paths with a finding of a fixable code and no parse error."""
    broken = {f.path for f in findings if f.code == PARSE_ERROR}
    return {f.path for f in findings if f.code in FIXABLE_CODES and f.path not in broken}


def fix_files(
    files: Sequence[object],
    findings: Sequence[Finding],
    checker_for: Callable[[str, str], Callable[[str], List[Finding]]],
    unsafe: bool = False,
    write: bool = True,
    sources: Optional[Mapping[str, str]] = None,
) -> FixRun:
    """Fix the ``files`` (``SourcePath``-like: ``.path``, ``.display``) that ``findings`` say
    have something fixable. ``checker_for(path, display)`` gives the function that checks a
    text with that file's settings. The result's findings replace ``findings``. ``sources``
    (display path -> the text that was checked) lets the first round reuse ``findings``
    instead of checking each file again."""
    wanted = files_to_fix(findings)
    by_path: Dict[str, List[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    run = FixRun()
    fixed_paths: Set[str] = set()
    for source in files:
        path, display = getattr(source, "path"), getattr(source, "display")
        if display not in wanted:
            continue
        check = checker_for(path, display)
        checked_text = sources.get(display) if sources is not None else None
        checked = (checked_text, by_path.get(display, [])) if checked_text is not None else None
        try:
            # Deeply nested files need the engine's deep stack, as when they were checked.
            result: Optional[FileFix] = run_with_deep_stack(
                lambda: fix_file(path, display, check, unsafe=unsafe, write=write, checked=checked)  # noqa: B023 - called at once
            )
        except OSError as error:
            run.errors.append(f"{display}: {error.strerror or error}")
            continue
        if result is None:
            continue
        run.files.append(result)
        if result.changed:
            fixed_paths.add(display)
            run.findings.extend(result.outcome.remaining)
            if result.outcome.remaining:
                run.sources[display] = result.outcome.text
    run.findings.extend(f for f in findings if f.path not in fixed_paths)
    run.findings.sort(key=Finding.sort_key)
    return run
