"""Where a pre-commit run's time goes, in CPU seconds. Run by hand, not part of the tests.

    PYTHONPATH=<checkout> python benchmarks/precommit_parts.py [FOLDER]

Takes the 10 files bench_speed.py changes for its pre-commit figure (every tenth ``*.py``
of FOLDER, sorted; default: this interpreter's standard library as bench_speed copies it)
and times, one after the other in this process, with ``time.process_time`` (CPU time, which
a busy machine disturbs far less than wall time): memlint's imports, discovery and the
project index, importing libcst and building the rules, and the check of each file. The
parts say what a run's critical path is made of (docs/performance.md, fifth round); the
interpreter's own start is measured by ``python -c pass``.
"""
from __future__ import annotations

import sys
import sysconfig
import time
from pathlib import Path
from typing import List, Optional, Sequence


def changed_files(folder: Path) -> List[Path]:
    """The files bench_speed.py's pre-commit run names (its ``changed`` list)."""
    files = sorted(path for path in folder.rglob("*.py")
                   if "site-packages" not in path.parts and not path.relative_to(folder).parts[0] == "test")
    return files[:: max(1, len(files) // 10)][:10]


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    folder = Path(arguments[0]) if arguments else Path(sysconfig.get_paths()["stdlib"])
    start = time.process_time()
    import memlint.api as api
    import memlint.cli  # noqa: F401 - what the command line imports too
    from memlint.config import ConfigResolver
    from memlint.discovery import discover
    from memlint.project_facts import facts_for_paths

    imported = time.process_time()
    resolver = ConfigResolver(isolated=True)
    files = discover([str(path) for path in changed_files(folder)], resolver)
    facts_for_paths([source.path for source in files])
    indexed = time.process_time()
    import libcst  # noqa: F401

    settings = resolver.for_file(files[0].path)
    codes = settings.codes_for(files[0].path)
    rule_set = api.RuleSet()
    rule_set.for_codes(codes)
    warmed = time.process_time()
    checks = []
    for source in files:
        data = Path(source.path).read_bytes()
        before = time.process_time()
        api.run_with_deep_stack(lambda: api.check_one(data, source.display, settings.options, codes, rule_set))
        checks.append((time.process_time() - before, source.display))
    checks.sort(reverse=True)
    print(f"{len(files)} files under {folder}")
    print(f"memlint imports          {imported - start:.3f} s")
    print(f"discovery + index        {indexed - imported:.3f} s")
    print(f"libcst import + rules    {warmed - indexed:.3f} s")
    print(f"checks                   {sum(cost for cost, _ in checks):.3f} s, the largest: "
          + ", ".join(f"{name} {cost:.3f}" for cost, name in checks[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
