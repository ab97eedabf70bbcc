"""Measure memlint's precision on real code: run it, match the ledger, report, sample.

    PYTHONPATH=<checkout> python benchmarks/realcode/run.py                 # tuning + agents-tuning
    python benchmarks/realcode/run.py --set tuning --list-new 50
    python benchmarks/realcode/run.py --sample 100 --seed 13 --worksheet w.txt --template t.jsonl
    python benchmarks/realcode/run.py --record t.jsonl                      # add filled verdicts
    python benchmarks/realcode/run.py --set tuning --verify-regions         # regions on == off?

Runs the memlint found on PYTHONPATH (``python -m memlint``) over the non-test code of each
fetched project of the chosen sets, with the default rules plus ``--select``. Exit status:
0 fine, 1 a finding judged true has disappeared (a lost true positive), 2 bad input.
With ``--verify-regions`` it only compares findings with region parsing on and off (in this
process, ``regions_check.py``): exit 1 if any differs.
The check sets are for the final judgement only: run them on purpose, never while tuning.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from typing import List, Optional, Set

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fetch  # noqa: E402
import findings as findings_mod  # noqa: E402
import ledger as ledger_mod  # noqa: E402
import sample as sample_mod  # noqa: E402

LEDGER = os.path.join(HERE, "ledger.jsonl")
DEFAULT_SETS = ("tuning", "agents-tuning")


def _parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="memlint precision on real code")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="project set of projects.toml to run (repeatable; "
                             "default: tuning and agents-tuning)")
    parser.add_argument("--project", action="append", default=[],
                        help="only this project (repeatable)")
    parser.add_argument("--select", metavar="CODES",
                        help="codes to enable in addition to memlint's defaults")
    parser.add_argument("--jobs", type=int, default=1, help="memlint worker processes (default 1)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the findings of the last run instead of running memlint")
    parser.add_argument("--confidence", choices=("high", "low", "only-low"), default="high",
                        help="the findings counted: high (memlint's default output), low (every "
                             "finding) or only-low (those --confidence low adds, to judge them apart); "
                             "the findings file keeps all of them")
    parser.add_argument("--ledger", default=LEDGER, help="ledger file (default: ledger.jsonl)")
    parser.add_argument("--list-new", type=int, default=20, metavar="N",
                        help="list up to N unjudged findings (default 20; 0 for none)")
    parser.add_argument("--list-lost", action="store_true",
                        help="list the findings judged true that memlint no longer reports")
    parser.add_argument("--classes", action="store_true",
                        help="also count the ledger's class labels among the findings")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="draw N unjudged findings to judge (stratified by rule)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the sample (default 13)")
    parser.add_argument("--codes", metavar="CODES", help="sample only these codes (comma list)")
    parser.add_argument("--worksheet", metavar="FILE",
                        help="write the sample with its code context to FILE (else printed)")
    parser.add_argument("--template", metavar="FILE",
                        help="write the sample as ledger lines to fill in to FILE")
    parser.add_argument("--record", metavar="FILE",
                        help="append the filled-in ledger lines of FILE to the ledger and stop")
    parser.add_argument("--verify-regions", action="store_true",
                        help="only check each project with region parsing on and off and report "
                             "every differing finding (exit 1 if any)")
    return parser.parse_args(argv)


# Each checkout keeps its own last runs: worktrees share one .cache, and two checkouts running the
# same sets at once must not overwrite each other's findings.
RUNS = os.path.join(fetch.CACHE, "runs",
                    os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def _last_run(sets: List[str], only_projects: Optional[List[str]]) -> str:
    """Where the findings of the last run over these sets (or these projects of them) are kept
    for --reuse: a run of a few projects must not replace the run of their whole set."""
    name = "+".join(sorted(sets))
    if only_projects:
        name += "@" + "+".join(sorted(only_projects))
    return os.path.join(RUNS, findings_mod.findings_file_name(name))


def _collect(options: argparse.Namespace, projects: List[dict], sets: List[str]) -> List[dict]:
    collected: List[dict] = []
    for project in projects:
        root = fetch.project_dir(project)
        if not os.path.exists(os.path.join(root, fetch.DONE_MARK)):
            raise RuntimeError(f"{project['name']} is not fetched; run fetch.py first")
        files = findings_mod.project_files(root)
        raw = findings_mod.run_memlint(root, files, options.select, options.jobs)
        keyed = findings_mod.keyed_findings(project["name"], project["set"], root, raw)
        print(f"  {project['set']:<14} {project['name']:<20} {len(files):>5} files "
              f"{len(keyed):>5} findings", file=sys.stderr, flush=True)
        collected.extend(keyed)
    os.makedirs(RUNS, exist_ok=True)
    partial = _last_run(sets, options.project) + ".partial"
    with open(partial, "w", encoding="utf-8") as out:
        for finding in collected:
            out.write(json.dumps(finding, ensure_ascii=False) + "\n")
    os.replace(partial, _last_run(sets, options.project))
    return collected


def _reuse(projects: List[dict]) -> List[dict]:
    """The findings of the newest earlier run that covered each project."""
    newest: dict = {}
    runs = glob.glob(os.path.join(RUNS, "last-findings-*.jsonl"))
    for path in sorted(runs, key=os.path.getmtime):
        by_project: dict = {}
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    by_project.setdefault(row["project"], []).append(row)
        newest.update(by_project)
    missing = [p["name"] for p in projects if p["name"] not in newest]
    if not runs or missing and len(missing) == len(projects):
        raise RuntimeError("no earlier run to reuse; run without --reuse first")
    return [row for p in projects for row in newest.get(p["name"], [])]


def _record(options: argparse.Namespace, ledger: dict) -> int:
    try:
        with open(options.record, encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as error:
        print(f"run.py: cannot read {options.record}: {error}", file=sys.stderr)
        return 2
    filled = [row for row in rows if row.get("verdict")]
    fresh = [row for row in filled if findings_mod.key_of(row) not in ledger]
    added = ledger_mod.append(options.ledger, fresh, ledger)
    print(f"recorded {added} verdicts ({len(filled) - len(fresh)} already in the ledger, "
          f"{len(rows) - len(filled)} lines without a verdict left out)")
    return 0


def _codes_run(extra_select: Optional[str]) -> Set[str]:
    """The codes memlint reported in this run: its defaults, plus what --select added."""
    from memlint.specs import load_specs

    codes = {code for code, spec in load_specs().items() if spec.default}
    return codes | {code.strip().upper() for code in (extra_select or "").split(",") if code.strip()}


def main(argv: Optional[List[str]] = None) -> int:
    options = _parse(argv)
    try:
        ledger = ledger_mod.load(options.ledger)
        if options.record:
            return _record(options, ledger)
    except ledger_mod.LedgerError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    try:
        listed = fetch.load_projects()
        sets = fetch.chosen_sets(options.sets or list(DEFAULT_SETS), listed)
    except ValueError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    projects = [p for p in listed if p["set"] in sets
                and (not options.project or p["name"] in options.project)]
    if not projects:
        print("run.py: no project matches the chosen sets and --project", file=sys.stderr)
        return 2
    if options.verify_regions:
        import regions_check

        differing = regions_check.verify_regions(projects, fetch.project_dir, findings_mod.project_files,
                                                 options.select, max(1, options.jobs))
        return 1 if differing else 0
    try:
        found = _reuse(projects) if options.reuse else _collect(options, projects, sets)
    except RuntimeError as error:
        print(f"run.py: {error}", file=sys.stderr)
        return 2
    every = found
    if options.confidence != "low":
        wanted = "low" if options.confidence == "only-low" else "high"
        found = [finding for finding in found if finding.get("confidence", "high") == wanted]

    ledger_mod.rematch_by_line(every, ledger)
    print("\n".join(ledger_mod.report(found, ledger, sets)))
    # Lost: no longer reported at any confidence. A true finding of low confidence is a trade
    # made on purpose (the rule specs' Figures), counted apart.
    lost = ledger_mod.lost_true_positives(every, ledger, sets, [p["name"] for p in projects],
                                          _codes_run(options.select))
    if options.confidence == "high":
        demoted = ledger_mod.lost_true_positives(found, ledger, sets, [p["name"] for p in projects],
                                                 _codes_run(options.select))
        print(f"true findings of low confidence (not in the default output): {len(demoted) - len(lost)}")
    new = ledger_mod.unjudged(found, ledger)
    print(f"unjudged findings: {len(new)}")
    for finding in new[: max(0, options.list_new)]:
        print(f"  NEW  {finding['project']}/{finding['path']}:{finding['line']} "
              f"{finding['code']} in {finding['function']}: {finding['message']}")
    if len(new) > options.list_new > 0:
        print(f"  ... and {len(new) - options.list_new} more (--list-new N)")
    if options.classes:
        print("classes of the judged findings:")
        print("\n".join(ledger_mod.class_table(found, ledger)))
    accepted = ledger_mod.accepted_losses(lost)
    lost = [entry for entry in lost if entry not in accepted]
    print(f"lost true positives: {len(lost)} (and {len(accepted)} given up on purpose, see accepted_loss)")
    if options.list_lost:
        for entry in lost:
            print(f"  LOST {entry['project']}/{entry['path']}:{entry.get('line')} {entry['code']} "
                  f"in {entry['function']}: {entry.get('message', '')}")
        for entry in accepted:
            print(f"  GIVEN UP {entry['project']}/{entry['path']}:{entry.get('line')} {entry['code']}: "
                  f"{entry['accepted_loss']}")

    if options.sample:
        roots = {p["name"]: fetch.project_dir(p) for p in projects}
        codes = options.codes.split(",") if options.codes else None
        drawn = sample_mod.draw(ledger_mod.unjudged(found, ledger, codes),
                                options.sample, options.seed)
        worksheet = options.worksheet or os.path.join(fetch.CACHE, "worksheet.txt")
        sample_mod.write_worksheet(drawn, roots, worksheet)
        if options.template:
            sample_mod.write_template(drawn, options.template)
        print(f"sample: {len(drawn)} findings (seed {options.seed}) written to {worksheet}"
              + (f", template {options.template}" if options.template else ""))
        if not options.worksheet:
            with open(worksheet, encoding="utf-8") as handle:
                sys.stdout.write(handle.read())
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
