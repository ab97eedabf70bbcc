"""The ``memlint`` command line: maps flags to settings, prints, and picks the exit code.

``memlint check [PATH ...]`` (also plain ``memlint PATH ...``) and ``memlint rule CODE``.
Exit codes: 0 no findings, 1 findings, 2 usage, configuration or internal error, 130
interrupted (Ctrl-C). Every error is one line on stderr; a traceback is shown only with
``MEMLINT_DEBUG=1``.

Only argparse is imported up front: ``--version`` and ``memlint rule`` must start fast, and
the checking machinery (libcst above all) is imported only when files are checked.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO, Any, List, NoReturn, Optional, Sequence, Tuple

from memlint.__about__ import __version__
from memlint.diagnostics import CONFIDENCE_LEVELS
from memlint.reporters import OUTPUT_FORMATS

# The same list as memlint.engine.TARGET_VERSIONS (a test keeps them equal); repeated here
# because importing the engine would load the whole checker before --help or --version.
TARGET_VERSIONS = ("py37", "py38", "py39", "py310", "py311", "py312", "py313", "py314")

SUBCOMMANDS = ("check", "rule")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
# --statistics prints a table or JSON; SARIF and GitHub annotations have no such shape.
STATISTICS_FORMATS = ("full", "concise", "json")

EPILOG = """\
`memlint PATH ...` is short for `memlint check PATH ...`.

exit codes:
  0    no findings (or --exit-zero)
  1    findings (with --diff: there is something to fix)
  2    usage, configuration or internal error (one line on stderr)
  130  interrupted (Ctrl-C)

environment:
  MEMLINT_DEBUG=1  show the traceback of an internal error
  NO_COLOR / FORCE_COLOR  turn coloured output off / on
"""


class UsageError(Exception):
    """A mistake on the command line; reported as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _codes(value: str) -> List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _rule_codes(value: str) -> List[str]:
    # Codes in any case, as in the config and in noqa comments: mem001 is MEM001.
    return [code.upper() for code in _codes(value)]


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memlint",
        description="Find leaked files, sockets, connections, temp files, processes and threads in Python code.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"memlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{check,rule}")

    check = commands.add_parser("check", help="check files and folders (the default)", allow_abbrev=False,
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .); - reads stdin")
    selection = check.add_argument_group("rule selection")
    selection.add_argument("--select", action="append", type=_rule_codes, metavar="CODES",
                           help="comma-separated codes or prefixes to enable instead of the defaults (ALL for every rule)")
    selection.add_argument("--extend-select", action="append", type=_rule_codes, metavar="CODES",
                           help="codes or prefixes to enable in addition")
    selection.add_argument("--ignore", action="append", type=_rule_codes, metavar="CODES",
                           help="codes or prefixes to disable")
    files = check.add_argument_group("file selection")
    files.add_argument("--exclude", action="append", type=_codes, metavar="GLOBS",
                       help="globs to skip, replacing the default list")
    files.add_argument("--extend-exclude", action="append", type=_codes, metavar="GLOBS",
                       help="globs to skip in addition to the configured ones")
    files.add_argument("--force-exclude", action="store_true",
                       help="apply excludes and .gitignore to paths given explicitly too (for pre-commit)")
    files.add_argument("--stdin-filename", metavar="NAME",
                       help="the name of the file read from stdin, for messages and config matching")
    output = check.add_argument_group("output")
    output.add_argument("--output-format", choices=OUTPUT_FORMATS,
                        help="how to print findings (default: full, or output-format in the config)")
    output.add_argument("-o", "--output-file", metavar="FILE", help="write the output to FILE instead of stdout")
    output.add_argument("--statistics", action="store_true", help="print the number of findings per code instead")
    output.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    output.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary or warnings")
    fixing = check.add_argument_group("fixing")
    fixing.add_argument("--fix", action="store_true", help="rewrite leaks into `with` statements (safe fixes only)")
    fixing.add_argument("--unsafe-fixes", action="store_true", help="also apply the fixes marked unsafe")
    fixing.add_argument("--diff", action="store_true",
                        help="print the fixes as a unified diff and change nothing (exit 1 if there are any)")
    config = check.add_argument_group("configuration")
    config.add_argument("--config", metavar="FILE", help="use this pyproject.toml or memlint.toml for every file")
    config.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    config.add_argument("--target-version", choices=TARGET_VERSIONS, metavar="VERSION",
                        help="the Python version to parse files as: py37 ... py314 "
                             "(default: target-version in the config, else this interpreter's version, "
                             "and newer syntax where libcst reads it)")
    config.add_argument("--confidence", choices=CONFIDENCE_LEVELS,
                        help="the least confidence to report: high (default: only the kinds of finding "
                             "judged right about nine times in ten on real code) or low (every finding)")
    speed = check.add_argument_group("speed")
    speed.add_argument("--jobs", type=_positive, metavar="N",
                       help="worker processes (default: number of CPUs; never more than files)")
    speed.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    speed.add_argument("--cache-dir", metavar="DIR",
                       help="where to keep the cache (default: .memlint_cache in the project root: the folder of "
                            "the configuration, else the git work tree's root, else the current folder)")

    rule = commands.add_parser("rule", help="explain a rule, or list them all", allow_abbrev=False)
    rule.add_argument("code", nargs="?", metavar="CODE", help="the rule to explain, e.g. MEM001")
    rule.add_argument("--all", action="store_true", help="list every rule")
    rule.add_argument("--output-format", choices=("text", "json"), default="text", help="text (default) or json")
    return parser


def _normalise_argv(argv: Sequence[str]) -> List[str]:
    """Insert the implicit ``check`` subcommand: ``memlint PATH`` means ``memlint check PATH``."""
    args = list(argv)
    if not args:
        return ["check"]
    if args[0] in SUBCOMMANDS or args[0] in ("-h", "--help", "--version"):
        return args
    return ["check", *args]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit code (``python -m memlint`` exits with it)."""
    arguments = sys.argv[1:] if argv is None else argv
    try:
        options = build_parser().parse_args(_normalise_argv(arguments))
        if options.command == "rule":
            return _rule_command(options)
        return _check_command(options)
    except UsageError as error:
        _error(str(error))
    except KeyboardInterrupt:
        _exit_interrupted()
    except Exception as error:  # noqa: BLE001 - one line for the user instead of a traceback
        known = _known_error(error)
        if os.environ.get("MEMLINT_DEBUG"):
            import traceback

            traceback.print_exc()
        _error(known or f"internal error: {type(error).__name__}: {error}")
    return EXIT_ERROR


def run() -> NoReturn:
    """``python -m memlint`` and the ``memlint`` script: ``main``, then ``os._exit``.

    Tearing the interpreter down (freeing every module and the project index) takes about
    20 ms, a twentieth of a pre-commit run, and nothing needs it: every file memlint writes
    is closed by then, and the workers have been joined. The standard streams are flushed
    first; if that fails (a closed pipe), the ordinary exit reports it as it always did.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def _exit_interrupted() -> NoReturn:
    """Ctrl-C: stop now with exit 130, leaving no worker behind (``memlint.parallel`` has
    killed them) and the cache as it was (it is only ever replaced whole).

    ``os._exit`` rather than a return: a thread checking a file in this process may be
    inside libcst's native parser, and finalizing the interpreter under it aborts (a core
    dump). What was printed is flushed first; nothing else needs cleaning up.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def _known_error(error: Exception) -> Optional[str]:
    """The message of an error the user can fix (bad config, missing path), else None."""
    from memlint.config import ConfigError
    from memlint.discovery import PathNotFoundError
    from memlint.specs import SpecError

    if isinstance(error, (ConfigError, PathNotFoundError, SpecError)):
        return str(error)
    return None


def _error(message: str) -> None:
    sys.stderr.write(f"memlint: {message}\n")


# --------------------------------------------------------------------------- memlint rule


def _rule_command(options: argparse.Namespace) -> int:
    import json

    from memlint.specs import load_specs

    specs = load_specs()
    if options.all == (options.code is not None):
        raise UsageError("rule: give either a CODE or --all")
    if options.all:
        rows = [
            {"code": s.code, "name": s.name, "summary": s.summary,
             "default": "on" if s.default else "off", "fixable": s.fixable}
            for s in specs.values()
        ]
        if options.output_format == "json":
            _write(sys.stdout, json.dumps(rows, indent=2) + "\n")
        else:
            _write(sys.stdout, _table(rows))
        return EXIT_CLEAN
    code = options.code.upper()
    if code not in specs:
        raise UsageError(f"unknown rule code {options.code!r} (see `memlint rule --all`)")
    spec = specs[code]
    if options.output_format == "json":
        document = {"code": spec.code, "name": spec.name, "summary": spec.summary,
                    "default": "on" if spec.default else "off", "fixable": spec.fixable,
                    "explanation": spec.body}
        _write(sys.stdout, json.dumps(document, indent=2) + "\n")
    else:
        _write(sys.stdout, spec.body)
    return EXIT_CLEAN


def _table(rows: List[Any]) -> str:
    columns = ("code", "name", "default", "fixable", "summary")
    widths = {key: max(len(key), *(len(row[key]) for row in rows)) for key in columns}
    lines = ["  ".join(key.upper().ljust(widths[key]) for key in columns).rstrip()]
    lines += ["  ".join(row[key].ljust(widths[key]) for key in columns).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- memlint check


def _flatten(groups: Optional[List[List[str]]]) -> Optional[Tuple[str, ...]]:
    if groups is None:
        return None
    return tuple(item for group in groups for item in group)


def _check_command(options: argparse.Namespace) -> int:
    from memlint.api import CheckResult, check_files, check_stdin
    from memlint.config import ConfigResolver, Overrides, expand_selector
    from memlint.discovery import discover
    from memlint.parallel import default_jobs
    from memlint.specs import load_specs

    # Unknown codes on the command line are usage errors, reported before any work.
    specs = load_specs()
    for flag in ("select", "extend_select", "ignore"):
        for selector in _flatten(getattr(options, flag)) or ():
            expand_selector(selector, specs, f"--{flag.replace('_', '-')}")
    if options.output_file is not None and os.path.isdir(options.output_file):
        raise UsageError(f"-o/--output-file: {options.output_file} is a folder; give the name of a file to write")
    overrides = Overrides(
        select=_flatten(options.select),
        extend_select=_flatten(options.extend_select) or (),
        ignore=_flatten(options.ignore) or (),
        exclude=_flatten(options.exclude),
        extend_exclude=_flatten(options.extend_exclude) or (),
        output_format=options.output_format,
        target_version=options.target_version,
        confidence=options.confidence,
    )
    warn = (lambda message: None) if options.quiet else (lambda message: _error(f"warning: {message}"))
    resolver = ConfigResolver(overrides, config_file=options.config, isolated=options.isolated, warn=warn)
    output_format = resolver.for_run().output_format
    if options.statistics and output_format not in STATISTICS_FORMATS:
        raise UsageError(
            f"--statistics prints a table (full, concise) or json, not {output_format}; "
            "drop --statistics or choose one of those with --output-format"
        )

    paths = options.paths or (["-"] if options.stdin_filename else ["."])
    files: List[Any] = []
    stdin_data: Optional[bytes] = None
    if "-" in paths:
        if len(paths) > 1:
            raise UsageError("'-' (standard input) cannot be combined with other paths")
        stdin_data = sys.stdin.buffer.read()
        result: CheckResult = check_stdin(stdin_data, resolver, options.stdin_filename,
                                          options.force_exclude, isolate=True)
    else:
        files = discover(paths, resolver, force_exclude=options.force_exclude, warn=warn)
        if not files and not options.quiet and not options.force_exclude:
            _error("warning: no Python files found under the given path(s)")
        jobs = _jobs(options, len(files), default_jobs(), warn)
        cache = _open_cache(options, resolver) if files else None
        # isolate: the files are checked in worker processes, so that Ctrl-C is acted on at once.
        result = check_files(files, resolver, jobs=jobs, cache=cache, isolate=True)

    if options.fix or options.diff:
        return _fix_command(options, result, resolver, files, stdin_data, output_format)
    _emit(result, output_format, options)

    if result.has_internal_error:
        return EXIT_ERROR
    if result.findings and not options.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _fix_command(
    options: argparse.Namespace,
    result: Any,
    resolver: Any,
    files: List[Any],
    stdin_data: Optional[bytes],
    output_format: str,
) -> int:
    """``--fix`` / ``--diff``: fix the files that have fixable findings (``memlint.fixes``),
    then report what is left. ``--diff`` writes nothing and exits 1 if it would change
    something; ``--fix`` exits 0 when nothing is left, 1 when findings remain."""
    from memlint.api import RuleSet, check_one
    from memlint.fixes.run import fix_files

    rule_set = RuleSet()

    def checker_for(path: str, display: str) -> Any:
        settings = resolver.for_file(path)
        codes = settings.codes_for(path)
        target = settings.target_version
        least = settings.confidence
        return lambda text: check_one(text, display, settings.options, codes, rule_set, False, target,
                                      confidence=least)[0]

    if stdin_data is not None:
        return _fix_stdin(options, result, stdin_data, checker_for)
    run = fix_files(files, result.findings, checker_for, unsafe=options.unsafe_fixes, write=not options.diff,
                    sources=result.sources)
    for problem in run.errors:
        _error(f"cannot fix {problem}")
    count = run.fixed_count
    if options.diff:
        _write(sys.stdout, run.diff())
        if not options.quiet:
            sys.stderr.write(f"Would fix {count} finding{'' if count == 1 else 's'}.\n")
        if run.errors or result.has_internal_error:
            return EXIT_ERROR
        return EXIT_FINDINGS if run.changed else EXIT_CLEAN
    result.findings = run.findings
    result.sources.update(run.sources)
    _emit(result, output_format, options)
    if not options.quiet and count:
        sys.stderr.write(f"Fixed {count} finding{'' if count == 1 else 's'}.\n")
    if run.errors or result.has_internal_error:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.findings and not options.exit_zero else EXIT_CLEAN


def _fix_stdin(options: argparse.Namespace, result: Any, data: bytes, checker_for: Any) -> int:
    """Standard input: the fixed source goes to stdout (or its diff, with ``--diff``)."""
    import difflib

    from memlint.engine import accepted_by_python, decode_source, run_with_deep_stack
    from memlint.fixes import fix_text
    from memlint.fixes.files import encode_like
    from memlint.fixes.text import source_lines

    display = result.findings[0].path if result.findings else (options.stdin_filename or "-")
    try:
        text = decode_source(data)
    except SyntaxError:
        # Undecodable: MEM000, nothing to fix; the input goes back unchanged.
        if options.diff:
            return EXIT_CLEAN
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_FINDINGS
    path = os.path.abspath(options.stdin_filename or "-")
    check = checker_for(path, display)
    outcome = run_with_deep_stack(
        lambda: fix_text(text, check, unsafe=options.unsafe_fixes, parsed_by_check=accepted_by_python)
    )
    if options.diff:
        diff = difflib.unified_diff(source_lines(text), source_lines(outcome.text),
                                    fromfile=f"a/{display}", tofile=f"b/{display}")
        _write(sys.stdout, "".join(diff))
        return EXIT_FINDINGS if outcome.text != text else EXIT_CLEAN
    sys.stdout.buffer.write(encode_like(outcome.text, data))
    sys.stdout.flush()
    return EXIT_FINDINGS if outcome.remaining and not options.exit_zero else EXIT_CLEAN


def _jobs(options: argparse.Namespace, file_count: int, cpus: int, warn: Any) -> int:
    """Worker processes for this run: ``--jobs`` (default: the CPUs), at most one per file.

    More workers than CPUs only cost memory (each holds libcst and its own parse), so
    asking for that is allowed but warned about.
    """
    if options.jobs is not None and options.jobs > cpus:
        warn(f"--jobs {options.jobs} is more than the {cpus} CPU{'' if cpus == 1 else 's'} "
             "this process may use; the extra workers only cost memory")
    return max(1, min(options.jobs or cpus, file_count))


def project_root(resolver: Any, cwd: str) -> str:
    """Where the cache lives by default: the folder of the configuration in force for
    ``cwd``, else the root of the git work tree holding ``cwd``, else ``cwd``."""
    source = resolver.for_run().source
    if source and os.path.isfile(source):
        return os.path.dirname(os.path.abspath(source))
    from memlint.discovery import GitIgnore

    return GitIgnore().work_tree(cwd) or cwd


def _open_cache(options: argparse.Namespace, resolver: Any) -> Any:
    """The cache for this run, or None with --no-cache or when it cannot be used."""
    if options.no_cache:
        return None
    from memlint.cache import DEFAULT_DIRNAME, Cache

    directory = options.cache_dir or os.path.join(project_root(resolver, os.getcwd()), DEFAULT_DIRNAME)
    try:
        return Cache.open(directory)
    except OSError as error:
        if not options.quiet:
            _error(f"warning: running without a cache: cannot use {directory}: {error.strerror or error}")
        return None


def _emit(result: Any, output_format: str, options: argparse.Namespace) -> None:
    from memlint.reporters import ReportContext, render

    to_file = options.output_file is not None
    color = not to_file and _use_color(sys.stdout)
    if options.statistics:
        from memlint.reporters import statistics

        # The format was checked against STATISTICS_FORMATS before the run.
        text = statistics.render(result.findings, as_json=output_format == "json")
    else:
        context = ReportContext(sources=result.sources, color=color, root=os.getcwd(),
                                unsafe_fixes=bool(getattr(options, "unsafe_fixes", False)))
        text = render(output_format, result.findings, context)
    if output_format in ("full", "concise") and not options.quiet:
        text += _summary(len(result.findings)) + _fix_hint(result.findings, bool(getattr(options, "unsafe_fixes", False)))
    if to_file:
        try:
            _write_file_atomically(options.output_file, text)
        except OSError as error:
            # e.g. a file where a folder of the path should be: one line, exit 2.
            raise UsageError(f"cannot write {options.output_file}: {error.strerror or error}") from error
    else:
        _write(sys.stdout, text)


def _summary(count: int) -> str:
    if count == 0:
        return "All checks passed!\n"
    return f"Found {count} finding{'' if count == 1 else 's'}.\n"


def _fix_hint(findings: List[Any], unsafe_fixes: bool) -> str:
    """As ruff says it: how many findings ``--fix`` would fix with the options given, and how
    many more ``--unsafe-fixes`` would (``[*]`` marks the same findings in the list)."""
    fixes = [f.fix for f in findings if f.fix is not None and f.fix.edits]
    fixable = sum(1 for fix in fixes if fix.safe or unsafe_fixes)
    hidden = len(fixes) - fixable
    more = f"{hidden} hidden fix{'' if hidden == 1 else 'es'} can be enabled with `--unsafe-fixes`"
    if fixable and hidden:
        return f"[*] {fixable} fixable with `--fix` ({more}).\n"
    if fixable:
        return f"[*] {fixable} fixable with `--fix`.\n"
    if hidden:
        return f"No fixes available ({more}).\n"
    return ""


def _use_color(stream: IO[str]) -> bool:
    """Colour only on a terminal; NO_COLOR (any non-empty value) always turns it off."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _write(stream: IO[str], text: str) -> None:
    # Source lines may hold characters the terminal's encoding lacks: escape, never crash.
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    stream.write(text)
    stream.flush()


def _write_file_atomically(path: str, text: str) -> None:
    """Write the report so that a reader of ``path`` never sees half of it."""
    from memlint._atomic import write_text_atomically

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_text_atomically(path, text)
