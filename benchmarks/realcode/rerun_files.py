"""Re-run memlint only on the files where an earlier run reported some codes, keep the earlier
findings of every other file, and write the result as this checkout's last run of the sets, so
that ``run.py --reuse`` reports it.

    PYTHONPATH=<checkout> python benchmarks/realcode/rerun_files.py BASE.jsonl --codes MEM001,MEM003
    PYTHONPATH=<checkout> python benchmarks/realcode/run.py --set ... --reuse --list-lost

For a change that can only remove or re-word findings of those codes (MEM003's raise model), it
gives the full run's figures in minutes instead of an hour: one memlint call over the files
(absolute paths; memlint reads each file's package from its location, so the results are the
same as a run per project). Run with an unchanged memlint, it gives BASE back exactly; check that
before trusting it for another kind of change. Exit status: 0 fine, 2 bad input or memlint failed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Dict, List, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fetch  # noqa: E402
import findings as findings_mod  # noqa: E402


def main(argv: List[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="findings file of an earlier run (run.py's last-findings-*.jsonl)")
    parser.add_argument("--codes", default="MEM001,MEM003", help="re-run the files with findings of these codes")
    parser.add_argument("--out", help="where to write (default: this checkout's last run of the base's sets)")
    parser.add_argument("--jobs", default="2", help="memlint worker processes")
    options = parser.parse_args(argv)
    codes = set(options.codes.split(","))
    try:
        with open(options.base, encoding="utf-8") as handle:
            base = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as error:
        print(f"rerun_files.py: cannot read {options.base}: {error}", file=sys.stderr)
        return 2
    files: Dict[Tuple[str, str], Set[str]] = {}
    for finding in base:
        if finding["code"] in codes:
            files.setdefault((finding["set"], finding["project"]), set()).add(finding["path"])
    projects = {(p["set"], p["name"]): p for p in fetch.load_projects()}
    roots = {key: os.path.realpath(fetch.project_dir(projects[key])) for key in files}
    kept = [f for f in base if f["path"] not in files.get((f["set"], f["project"]), ())]
    paths = sorted({os.path.join(roots[key], path) for key, paths in files.items() for path in paths})
    command = [sys.executable, "-m", "memlint", "check", "--isolated", "--output-format", "json",
               "--no-cache", "--exit-zero", "--quiet", "--jobs", options.jobs, "--confidence", "low"] + paths
    done = subprocess.run(command, cwd=fetch.CACHE, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"rerun_files.py: memlint failed (exit {done.returncode}): {done.stderr.strip()[-300:]}", file=sys.stderr)
        return 2
    by_file: Dict[str, List[dict]] = {}
    for item in json.loads(done.stdout or "[]"):
        path = item["path"] if os.path.isabs(item["path"]) else os.path.join(fetch.CACHE, item["path"])
        by_file.setdefault(os.path.realpath(path), []).append(item)
    for key, relative_paths in sorted(files.items()):
        items = [dict(item, path=relative) for relative in relative_paths
                 for item in by_file.get(os.path.join(roots[key], relative), [])]
        kept.extend(findings_mod.keyed_findings(projects[key]["name"], key[0], roots[key], items))
    sets = sorted({finding["set"] for finding in base})
    out = options.out or os.path.join(fetch.CACHE, "runs", os.path.basename(os.path.dirname(os.path.dirname(HERE))),
                                      findings_mod.findings_file_name("+".join(sets)))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for finding in kept:
            handle.write(json.dumps(finding, ensure_ascii=False) + "\n")
    print(f"{len(paths)} files re-run, {len(kept)} findings written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
