"""The ledger of judged findings (ledger.jsonl) and the precision report built from it.

One JSON object per line and per judged finding:
  key fields   project, path, code, function, text, occurrence (see findings.py)
  set          the project set the finding belongs to
  verdict      "true" | "false" | "debatable"   (judging.md)
  message_wrong  true when the verdict is true but the message names the wrong resource,
               escaping line or raising call
  reason       one line, written after reading the code
  class        optional short label: the false-alarm class, or "refcount-closed" / "api-rule"
  line, message  where and what memlint said when it was judged (for reference only)
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Tuple

from findings import KEY_FIELDS, NOT_JUDGED_CODES, key_of

VERDICTS = ("true", "false", "debatable")
REQUIRED = KEY_FIELDS + ("set", "verdict", "message_wrong", "reason")


class LedgerError(Exception):
    """A ledger line that cannot be used; the message names the file and line."""


def validate(entry: dict, where: str) -> dict:
    missing = [field for field in REQUIRED if field not in entry]
    if missing:
        raise LedgerError(f"{where}: missing {', '.join(missing)}")
    if entry["verdict"] not in VERDICTS:
        raise LedgerError(f"{where}: verdict must be one of {', '.join(VERDICTS)}, "
                          f"not {entry['verdict']!r}")
    if not isinstance(entry["message_wrong"], bool):
        raise LedgerError(f"{where}: message_wrong must be true or false")
    if not str(entry["reason"]).strip() or "\n" in str(entry["reason"]):
        raise LedgerError(f"{where}: reason must be one non-empty line")
    return entry


def load(path: str) -> Dict[str, dict]:
    """The ledger's entries by key; a missing file is an empty ledger."""
    entries: Dict[str, dict] = {}
    try:
        handle = open(path, encoding="utf-8")
    except FileNotFoundError:
        return entries
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                entry = json.loads(line)
            except ValueError as error:
                raise LedgerError(f"{where}: not JSON ({error})") from None
            key = key_of(validate(entry, where))
            if key in entries:
                raise LedgerError(f"{where}: judged twice: {key}")
            entries[key] = entry
    return entries


def append(path: str, new_entries: Iterable[dict], existing: Dict[str, dict]) -> int:
    """Append validated entries that are not yet in the ledger; return how many were added."""
    added = []
    for number, entry in enumerate(new_entries, 1):
        validate(entry, f"entry {number}")
        key = key_of(entry)
        if key in existing:
            raise LedgerError(f"entry {number}: already judged: {key}")
        ordered = {field: entry[field] for field in ("set",) + KEY_FIELDS}
        for field in ("verdict", "message_wrong", "reason", "class", "line", "message"):
            if field in entry:
                ordered[field] = entry[field]
        added.append(ordered)
        existing[key] = ordered
    with open(path, "a", encoding="utf-8") as handle:
        for entry in added:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return len(added)


# A finding kind that moved to a code of its own: the API rule of MEM004 ("has close() but
# no __enter__/__exit__") is MEM042 since issue 13. A true entry under the old code is not
# lost when memlint reports the same place under the new one.
# Likewise a true MEM003 ("not released when X raises") is not lost when memlint now sees
# that nothing releases the resource on any path and reports MEM001 at the same statement
# (a file lent with `file=` to an upload used to count as handed on).
MOVED_CODES = {"MEM004": ("MEM042",), "MEM003": ("MEM001",)}


def rematch_by_line(findings: List[dict], ledger: Dict[str, dict]) -> None:
    """Give findings that share a key's other fields the occurrence of the ledger entry judged
    at their very line. The occurrence index counts in line order, so when one of two findings
    with the same text in one function disappears, the other would inherit its neighbour's
    verdict; the fetched sources never change, so the recorded line tells them apart."""
    judged: Dict[Tuple[str, ...], Dict[int, List[int]]] = defaultdict(lambda: defaultdict(list))
    # Two findings judged at one line (a temporary file and its path) are told apart by the
    # message recorded with each, when it is still the same.
    said: Dict[Tuple[str, ...], Dict[Tuple[int, str], List[int]]] = defaultdict(lambda: defaultdict(list))
    for entry in ledger.values():
        if entry.get("line") is not None:
            judged[_base(entry)][int(entry["line"])].append(int(entry["occurrence"]))
            said[_base(entry)][(int(entry["line"]), entry.get("message", ""))].append(int(entry["occurrence"]))
    groups: Dict[Tuple[str, ...], List[dict]] = defaultdict(list)
    for finding in findings:
        groups[_base(finding)].append(finding)
    for base, members in groups.items():
        # Only a line judged once and found once tells a finding apart (two findings at one
        # line, such as a tuple's two parts, keep their order).
        lines = {line: found[0] for line, found in judged.get(base, {}).items() if len(found) == 1}
        per_line = Counter(f.get("line") for f in members)
        if not lines and base not in said:
            continue
        matched = {id(f): lines[f["line"]] for f in members if f.get("line") in lines and per_line[f["line"]] == 1}
        for f in members:
            same = said.get(base, {}).get((f.get("line"), f.get("message", "")), [])
            if id(f) not in matched and len(same) == 1 and same[0] not in matched.values():
                matched[id(f)] = same[0]
        taken = set(matched.values())
        for finding in members:
            if id(finding) in matched:
                occurrence = matched[id(finding)]
            else:
                occurrence = finding["occurrence"]
                while occurrence in taken:
                    occurrence += 1
                taken.add(occurrence)
            finding["occurrence"] = occurrence
            finding["key"] = key_of(finding)


def _base(record: dict) -> Tuple[str, ...]:
    return tuple(str(record[field]) for field in KEY_FIELDS[:-1])


def lost_true_positives(findings: List[dict], ledger: Dict[str, dict],
                        sets: Iterable[str], projects: Iterable[str],
                        codes: Optional[Iterable[str]] = None) -> List[dict]:
    """Ledger entries judged true, of the projects and (when given) the codes just run, that
    memlint no longer reports (under their code or a code that kind of finding moved to)."""
    present = {f["key"] for f in findings}
    run_sets, run_projects = set(sets), set(projects)
    run_codes = set(codes) if codes is not None else None

    def reported(key: str, entry: dict) -> bool:
        if key in present:
            return True
        return any(key_of(dict(entry, code=code)) in present for code in MOVED_CODES.get(entry["code"], ()))

    return [entry for key, entry in sorted(ledger.items())
            if entry["verdict"] == "true" and entry["set"] in run_sets
            and entry["project"] in run_projects
            and (run_codes is None or entry["code"] in run_codes) and not reported(key, entry)]


def accepted_losses(lost: List[dict]) -> List[dict]:
    """Lost true positives given up on purpose: the entry keeps its verdict and says, in
    ``accepted_loss``, which change dropped it and why (a trade for fewer false alarms)."""
    return [entry for entry in lost if entry.get("accepted_loss")]


def _row(label: str, counts: Counter) -> str:
    decided = counts["true"] + counts["false"]
    precision = f"{100.0 * counts['true'] / decided:5.1f}%" if decided else "    -"
    return (f"  {label:<8} {counts['findings']:>8} {counts['judged']:>7} {counts['true']:>5} "
            f"{counts['false']:>6} {counts['debatable']:>6} {precision:>9} "
            f"{counts['message_wrong']:>9}")


def report(findings: List[dict], ledger: Dict[str, dict], sets: List[str]) -> List[str]:
    """The per-set, per-rule table: findings, judged, verdicts, precision, wrong messages."""
    table: Dict[Tuple[str, str], Counter] = defaultdict(Counter)
    for finding in findings:
        for rule in (finding["code"], "all"):
            if rule == "all" and finding["code"] in NOT_JUDGED_CODES:
                continue
            counts = table[(finding["set"], rule)]
            counts["findings"] += 1
            entry = ledger.get(finding["key"])
            if entry is not None:
                counts["judged"] += 1
                counts[entry["verdict"]] += 1
                counts["message_wrong"] += bool(entry["message_wrong"])
    header = (f"  {'rule':<8} {'findings':>8} {'judged':>7} {'true':>5} {'false':>6} "
              f"{'debat.':>6} {'precision':>9} {'msg-wrong':>9}")
    lines = []
    for set_name in sets:
        rules = sorted(rule for (s, rule) in table if s == set_name and rule != "all")
        projects = len({f["project"] for f in findings if f["set"] == set_name})
        lines.append(f"set {set_name} ({projects} projects with findings)")
        lines.append(header)
        for rule in rules + ["all"]:
            lines.append(_row(rule, table[(set_name, rule)]))
        lines.append("")
    return lines


def class_table(findings: List[dict], ledger: Dict[str, dict]) -> List[str]:
    """How often each ledger `class` label occurs among the current findings, per verdict."""
    counts: Counter = Counter()
    for finding in findings:
        entry = ledger.get(finding["key"])
        if entry is not None and (entry.get("class") or entry["message_wrong"]):
            counts[(entry["verdict"], entry.get("class") or "(no class)", finding["code"])] += 1
    lines = [f"  {'verdict':<10} {'class':<34} {'code':<7} {'count':>5}"]
    for (verdict, label, code), number in sorted(counts.items(),
                                                 key=lambda item: (item[0][0], -item[1], item[0])):
        lines.append(f"  {verdict:<10} {label:<34} {code:<7} {number:>5}")
    return lines


def unjudged(findings: List[dict], ledger: Dict[str, dict],
             codes: Optional[Iterable[str]] = None) -> List[dict]:
    """Findings with no ledger entry, leaving out memlint's own MEM000/MEM900."""
    wanted = set(codes) if codes else None
    return [f for f in findings if f["key"] not in ledger and f["code"] not in NOT_JUDGED_CODES
            and (wanted is None or f["code"] in wanted)]
