"""Draw a judging sample (stratified by rule, round-robin across projects) and write worksheets."""
from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from typing import Dict, List

from findings import KEY_FIELDS, source_lines


def _quotas(by_rule: Dict[str, List[dict]], size: int) -> Dict[str, int]:
    """Split ``size`` over the rules in proportion to their findings (largest remainder),
    giving every rule at least one when the sample is big enough for that."""
    total = sum(len(items) for items in by_rule.values())
    if total == 0:
        return {}
    size = min(size, total)
    exact = {rule: size * len(items) / total for rule, items in by_rule.items()}
    quotas = {rule: int(share) for rule, share in exact.items()}
    for rule in sorted(exact, key=lambda r: (quotas[r] - exact[r], r))[: size - sum(quotas.values())]:
        quotas[rule] += 1
    if size >= len(by_rule):
        for rule in sorted(by_rule):
            if quotas[rule] == 0:
                donor = max(quotas, key=lambda r: (quotas[r], r))
                quotas[donor] -= 1
                quotas[rule] = 1
    return quotas


def draw(candidates: List[dict], size: int, seed: int) -> List[dict]:
    """A seeded sample of ``size`` findings: per rule in proportion, projects taken in turn."""
    rng = random.Random(seed)
    by_rule: Dict[str, List[dict]] = defaultdict(list)
    for finding in sorted(candidates, key=lambda f: f["key"]):
        by_rule[finding["code"]].append(finding)
    chosen: List[dict] = []
    for rule, quota in sorted(_quotas(by_rule, size).items()):
        by_project: Dict[str, List[dict]] = defaultdict(list)
        for finding in by_rule[rule]:
            by_project[finding["project"]].append(finding)
        order = sorted(by_project)
        rng.shuffle(order)
        for project in order:
            rng.shuffle(by_project[project])
        taken = 0
        while taken < quota:
            for project in order:
                if taken < quota and by_project[project]:
                    chosen.append(by_project[project].pop())
                    taken += 1
    return chosen


def _context(root: str, path: str, line: int, before: int, after: int) -> List[str]:
    try:
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as handle:
            lines = source_lines(handle.read())
    except OSError:
        return ["    (file not readable)"]
    first, last = max(1, line - before), min(len(lines), line + after)
    return [f"{'>' if n == line else ' '}{n:6} | {lines[n - 1]}" for n in range(first, last + 1)]


def write_worksheet(sample: List[dict], roots: Dict[str, str], path: str,
                    before: int = 7, after: int = 8) -> None:
    """A readable worksheet: each finding with its message, key and code around it."""
    with open(path, "w", encoding="utf-8") as out:
        for number, finding in enumerate(sample, 1):
            root = roots[finding["project"]]
            out.write(f"### {number}/{len(sample)}  {finding['code']}  [{finding['set']}]  "
                      f"{finding['project']}  {finding['path']}:{finding['line']}  "
                      f"in {finding['function']}\n")
            out.write(f"message: {finding['message']}\nfile: {os.path.join(root, finding['path'])}\n")
            out.write("\n".join(_context(root, finding["path"], finding["line"], before, after)))
            out.write("\n\n")


def write_template(sample: List[dict], path: str) -> None:
    """Ledger lines to fill in (verdict, message_wrong, reason, class), then --record."""
    with open(path, "w", encoding="utf-8") as out:
        for finding in sample:
            entry = {field: finding[field] for field in ("set",) + KEY_FIELDS}
            entry.update(verdict="", message_wrong=False, reason="", line=finding["line"],
                         message=finding["message"])
            out.write(json.dumps(entry, ensure_ascii=False) + "\n")
