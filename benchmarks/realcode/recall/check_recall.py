"""Check memlint against real leak fixes taken from project histories.

Each case in cases.jsonl names a fix commit, a file and the line where the
file *before* the fix acquires the leaked resource.  For every case this
script takes the file as it was before the fix (the commit's first parent)
and after it, straight out of a local git copy of the project, runs the
memlint that is importable right now on both, and asks two questions:

* found before: does memlint report anything at the leaking line (+-1)?
* clean after: is the corresponding line of the fixed file free of findings
  (apart from codes the case explicitly allows, for fixes that close the
  resource on the normal path only)?

Recall is the share of cases with both answers yes.

Where the projects come from
    By default the git copies are looked up under /work/.mirror as
    ``<mirrors>/<owner>+<name>/repo`` (a bare snapshot), then
    ``<mirrors>/<owner>+<name>`` and ``<mirrors>/<owner>/<name>`` (a normal
    clone).  Anyone can rebuild such a folder with, for each repository in
    cases.jsonl::

        git clone https://github.com/OWNER/NAME MIRRORS/OWNER+NAME

    and run ``check_recall.py --mirrors MIRRORS``.  ``--repo-map FILE`` takes
    a JSON object {"owner/name": "/path/to/clone-or-bare-git"} instead.

The fetched files are written to a temporary folder that is removed at the
end; nothing from the projects is stored in this repository.

Exit status: 0 when every case could be checked (and recall reached
--min-recall, if given), 1 when recall is below --min-recall, 2 on bad
input (unreadable or malformed cases file, bad options), 3 when some cases
could not be checked because their repository, commit or file is missing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CASES = os.path.join(HERE, "cases.jsonl")
DEFAULT_MIRRORS = "/work/.mirror"
RULES = ("MEM001", "MEM003", "MEM004")
REQUIRED = {
    "id": str, "repo": str, "commit": str, "path": str, "line": int,
    "kind": str, "rule": str, "description": str, "agent": bool,
}


class BadInput(Exception):
    """Raised for input the user must correct; printed as one line."""


def load_cases(path):
    try:
        with open(path, encoding="utf-8") as handle:
            raw_lines = handle.read().splitlines()
    except OSError as err:
        raise BadInput("cannot read cases file %s: %s" % (path, err.strerror))
    cases, seen = [], set()
    for number, text in enumerate(raw_lines, 1):
        if not text.strip():
            continue
        try:
            case = json.loads(text)
        except ValueError as err:
            raise BadInput("%s:%d: not valid JSON (%s)" % (path, number, err))
        if not isinstance(case, dict):
            raise BadInput("%s:%d: each line must be a JSON object" % (path, number))
        for field, kind in REQUIRED.items():
            value = case.get(field)
            # bool is an int subclass; a line number must be a real int.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise BadInput("%s:%d: field %r missing or not a %s" % (path, number, field, kind.__name__))
        after_line = case.get("after_line")
        if after_line is not None and (not isinstance(after_line, int) or isinstance(after_line, bool)):
            raise BadInput("%s:%d: after_line must be an integer or null" % (path, number))
        allowed = case.get("after_allowed", [])
        if not isinstance(allowed, list) or not all(isinstance(c, str) for c in allowed):
            raise BadInput("%s:%d: after_allowed must be a list of codes" % (path, number))
        if not isinstance(case.get("ref", ""), str):
            raise BadInput("%s:%d: ref must be a string" % (path, number))
        if case["rule"] not in RULES:
            raise BadInput("%s:%d: rule must be one of %s" % (path, number, ", ".join(RULES)))
        if case["line"] < 1 or "/" not in case["repo"]:
            raise BadInput("%s:%d: bad line or repo" % (path, number))
        if case["id"] in seen:
            raise BadInput("%s:%d: duplicate id %s" % (path, number, case["id"]))
        seen.add(case["id"])
        case.setdefault("after_allowed", [])
        cases.append(case)
    if not cases:
        raise BadInput("%s: no cases" % path)
    return cases


def load_repo_map(path):
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            mapping = json.load(handle)
    except (OSError, ValueError) as err:
        raise BadInput("cannot read repo map %s: %s" % (path, err))
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise BadInput("repo map %s must be a JSON object of \"owner/name\": \"path\"" % path)
    return mapping


def git_command(location):
    """The git prefix that reads `location`, a clone or a bare git directory."""
    if os.path.isdir(os.path.join(location, ".git")):
        return ["git", "-C", location]
    return ["git", "--git-dir", location]


def find_repo(repo, mirrors, repo_map):
    owner, name = repo.split("/", 1)
    candidates = [repo_map[repo]] if repo in repo_map else []
    candidates += [
        os.path.join(mirrors, "%s+%s" % (owner, name), "repo"),
        os.path.join(mirrors, "%s+%s" % (owner, name)),
        os.path.join(mirrors, owner, name),
    ]
    for location in candidates:
        if os.path.isdir(location):
            probe = subprocess.run(git_command(location) + ["rev-parse", "--git-dir"],
                                   capture_output=True, text=True)
            if probe.returncode == 0:
                return location
    return None


def file_at(location, revision, path):
    shown = subprocess.run(git_command(location) + ["show", "%s:%s" % (revision, path)],
                           capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def extract(case, location, workdir):
    """Write the before/after files of a case; return their paths or a reason."""
    parent = subprocess.run(git_command(location) + ["rev-parse", "--verify", "-q", case["commit"] + "^1"],
                            capture_output=True, text=True)
    if parent.returncode != 0:
        hint = ""
        if case.get("ref"):
            # Fixes that only live on a pull-request branch are not in a plain clone.
            hint = "; fetch it with: git fetch origin %s:%s" % (case["ref"], case["ref"])
        return None, "commit %s (or its parent) not in the repository%s" % (case["commit"][:12], hint)
    before = file_at(location, parent.stdout.strip(), case["path"])
    after = file_at(location, case["commit"], case["path"])
    if before is None or after is None:
        return None, "%s missing before or after the commit" % case["path"]
    paths = {}
    for side, revision, content in (("before", parent.stdout.strip(), before), ("after", case["commit"], after)):
        folder = os.path.join(workdir, case["id"], side)
        os.makedirs(folder)
        # The file sits in its project's Python tree at the same revision, so that memlint's
        # project index can read the modules it imports (only the file itself is checked).
        write_python_tree(location, revision, case["path"], folder)
        target = os.path.join(folder, *case["path"].split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(content)
        paths[side] = target
    return paths, None


def write_python_tree(location, revision, path, folder):
    """The .py files under the top folder of ``path`` at ``revision``, into ``folder``."""
    top = path.split("/", 1)[0]
    if top == path:
        return
    archive = subprocess.run(git_command(location) + ["archive", revision, "--", ":(glob)%s/**/*.py" % top],
                             capture_output=True)
    if archive.returncode == 0 and archive.stdout:
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, capture_output=True)


def run_memlint(files, jobs, confidence="high"):
    """Findings of the importable memlint (default rules, findings of at least ``confidence``)
    per file path."""
    command = [sys.executable, "-m", "memlint", "check", "--output-format", "json",
               "--isolated", "--no-cache", "--exit-zero", "--jobs", str(jobs)] + files
    if confidence != "high":  # an older memlint has no --confidence; high is its only output
        command[4:4] = ["--confidence", confidence]
    done = subprocess.run(command, capture_output=True, text=True)
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError:
        raise BadInput("memlint did not print JSON (exit %d): %s"
                       % (done.returncode, (done.stderr or done.stdout).strip().splitlines()[-1:]))
    by_path = {}
    for finding in findings:
        by_path.setdefault(os.path.realpath(finding["path"]), []).append(finding)
    return by_path


def near(findings, line):
    return sorted({f["code"] for f in findings if abs(f["line"] - line) <= 1})


def judge(case, paths, by_path):
    before = by_path.get(os.path.realpath(paths["before"]), [])
    after = by_path.get(os.path.realpath(paths["after"]), [])
    found = near(before, case["line"])
    unparsable = any(f["code"] == "MEM000" for f in before + after)
    if case["after_line"] is None:
        remaining = []
    else:
        remaining = [c for c in near(after, case["after_line"]) if c not in case["after_allowed"]]
    found_real = [c for c in found if c != "MEM000"]
    return {
        "id": case["id"], "rule": case["rule"], "agent": case["agent"], "kind": case["kind"],
        "found_before": bool(found_real), "codes_before": found_real,
        "clean_after": not remaining, "codes_after": remaining,
        "unparsable": unparsable,
        "hit": bool(found_real) and not remaining,
    }


def summarize(results, skipped, out):
    def ratio(part, whole):
        return "%d/%d = %.2f" % (part, whole, part / whole) if whole else "0/0"

    for r in results:
        before = ",".join(r["codes_before"]) or "MISS"
        after = "clean" if r["clean_after"] else "still " + ",".join(r["codes_after"])
        verdict = "ok  " if r["hit"] else "MISS"
        extra = " (file did not parse)" if r["unparsable"] else ""
        out.write("%s %-34s expect %s  before: %-14s after: %s%s\n"
                  % (verdict, r["id"], r["rule"], before, after, extra))
    for case_id, reason in skipped:
        out.write("SKIP %-34s %s\n" % (case_id, reason))
    total = len(results)
    hits = sum(r["hit"] for r in results)
    found = sum(r["found_before"] for r in results)
    out.write("\ncases checked: %d (skipped: %d)\n" % (total, len(skipped)))
    out.write("found before (+-1 line): %s\n" % ratio(found, total))
    out.write("recall (found before and clean after): %s\n" % ratio(hits, total))
    for label, subset in (("agent/LLM projects", [r for r in results if r["agent"]]),
                          ("other projects", [r for r in results if not r["agent"]])):
        out.write("  %s: recall %s\n" % (label, ratio(sum(r["hit"] for r in subset), len(subset))))
    for rule in RULES:
        subset = [r for r in results if r["rule"] == rule]
        if subset:
            out.write("  expected %s: recall %s\n" % (rule, ratio(sum(r["hit"] for r in subset), len(subset))))
    return hits / total if total else 0.0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help="cases file (default: %(default)s)")
    parser.add_argument("--mirrors", default=DEFAULT_MIRRORS,
                        help="folder of git copies, OWNER+NAME[/repo] or OWNER/NAME (default: %(default)s)")
    parser.add_argument("--repo-map", help="JSON file mapping \"owner/name\" to a clone or bare git dir")
    parser.add_argument("--case", action="append", default=[], help="check only this case id (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="memlint worker processes (default: 1)")
    parser.add_argument("--json", help="also write per-case results to this JSON file")
    parser.add_argument("--confidence", choices=("high", "low"), default="high",
                        help="the least confidence of the findings counted: high (memlint's default "
                             "output, the default) or low (every finding)")
    parser.add_argument("--min-recall", type=float, help="exit 1 when recall is below this fraction")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.jobs < 1:
            raise BadInput("--jobs must be at least 1")
        cases = load_cases(args.cases)
        if args.case:
            unknown = sorted(set(args.case) - {c["id"] for c in cases})
            if unknown:
                raise BadInput("unknown case id(s): %s" % ", ".join(unknown))
            cases = [c for c in cases if c["id"] in args.case]
        repo_map = load_repo_map(args.repo_map)
        skipped, extracted = [], []
        with tempfile.TemporaryDirectory(prefix="memlint-recall-") as workdir:
            for case in cases:
                location = find_repo(case["repo"], args.mirrors, repo_map)
                if location is None:
                    skipped.append((case["id"], "no git copy of %s under %s" % (case["repo"], args.mirrors)))
                    continue
                paths, reason = extract(case, location, workdir)
                if reason:
                    skipped.append((case["id"], reason))
                else:
                    extracted.append((case, paths))
            files = [p for _, paths in extracted for p in (paths["before"], paths["after"])]
            by_path = run_memlint(files, args.jobs, args.confidence) if files else {}
            results = [judge(case, paths, by_path) for case, paths in extracted]
    except BadInput as err:
        sys.stderr.write("check_recall: %s\n" % err)
        return 2
    recall = summarize(results, skipped, sys.stdout)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump({"results": results, "skipped": skipped}, handle, indent=1)
        except OSError as err:
            sys.stderr.write("check_recall: cannot write %s: %s\n" % (args.json, err.strerror))
            return 2
    if skipped:
        return 3
    if args.min_recall is not None and recall < args.min_recall:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
