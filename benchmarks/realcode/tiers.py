"""How often each kind of evidence is judged right: the figures behind the confidence tiers.

    python benchmarks/realcode/tiers.py FINDINGS.jsonl [FINDINGS.jsonl ...] [--ledger ledger.jsonl]

FINDINGS are run.py's findings files (``last-findings-*.jsonl``, both confidence levels, as
``run.py --reuse`` and ``rerun_files.py`` write them). No network and no memlint run.

A kind is the evidence a rule decides its confidence from, as the finding shows it: the code,
the verdict of the fact (MEM001's Lifetime category "never", "return", "raise", "loop-exit",
"rebind", "branch", or an unnamed use; MEM003's witness: a call, ``await``, ``yield``,
``assert``, a re-raise, an unbound name in a ``finally``; MEM004's fact), whether the
resource is a lock (MEM001/MEM003) or a path (``is_path``: a temporary file or directory to be
removed). Findings files carry the message, not the fact; each verdict has its own words in
the rule's module (mem001.py, mem003.py, ``_words.raise_phrase``), so the verdict is read back
from them by ``kind_of``, which is kept one-to-one with those words (tests/test_realcode_bench.py).

For each kind it prints:

- first sight: every ledger entry whose reason starts "check-set judgement" (each check set's
  one-time judgement of every default finding of the code of its day): true / false /
  debatable, the share true of true + false and its Wilson 95 % interval;
- now: the findings of the given files that the ledger judges, by the tier the current code
  gives them: true / false at "high" and at "low".

Exit status: 0, or 2 when a file cannot be read.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from findings import key_of  # noqa: E402

LEDGER = os.path.join(HERE, "ledger.jsonl")
FIRST_SIGHT = "check-set judgement"
_PATH_KINDS = ("temporary file", "temporary directory")
_RAISE_WORDS = (
    ("may be unbound in the `finally`", "unbound-in-finally"),
    ("when an exception is raised", "no-witness"),
    ("when the exception re-raised at line", "reraise"),
    ("when the `await` at line", "await"),
    ("when the generator is closed at the `yield`", "yield"),
    ("when the `assert` at line", "assert"),
)


def kind_of(code: str, message: str) -> str:
    """The evidence kind of a finding, from its code and the words its verdict is given."""
    lock = "(acquired by " in message
    path = bool(re.search(r"\(an? (?:%s) from " % "|".join(_PATH_KINDS), message)) and " removed" in message
    what = "lock " if lock else ("path " if path else "")
    if code == "MEM001":
        if message.startswith("`") and " is acquired by " in message and " and never released" in message:
            return "MEM001 lock never (module global)"
        if not (message.startswith("`") or message.startswith("each ")):
            return "MEM001 " + ("path " if path or re.match(r"(?:%s) from " % "|".join(_PATH_KINDS), message) else "") + "unnamed"
        for words, verdict in (("when the function returns at line", "return"),
                               ("when the `raise` at line", "raise"),
                               ("skips the release", "loop-exit"),
                               ("before the next loop iteration acquires it again", "rebind"),
                               ("before it is acquired again", "rebind"),
                               ("is rebound at line", "rebind"),
                               ("on every path", "branch"),
                               (" is never ", "never")):
            if words in message:
                return f"MEM001 {what}{verdict}"
        return "MEM001 other"
    if code == "MEM003":
        for words, witness in _RAISE_WORDS:
            if words in message:
                return f"MEM003 {'' if witness == 'unbound-in-finally' else what}{witness}"
        if re.search(r"when .+ raises \(line \d+\)", message):
            return f"MEM003 {what}call"
        if re.search(r"when line \d+ raises", message):
            return f"MEM003 {what}statement"
        return "MEM003 other"
    if code == "MEM004":
        if message.startswith("cleanup after `yield`"):
            return "MEM004 cleanup after yield"
        if "returns True unconditionally" in message:
            return "MEM004 __exit__ swallows"
        if " holds " in message:
            return "MEM004 " + ("path " if path else "") + "class never releases"
        return "MEM004 other"
    return code


def wilson(true: int, false: int, z: float = 1.96) -> Tuple[float, float]:
    """The Wilson score interval of the share true."""
    n = true + false
    if n == 0:
        return (0.0, 1.0)
    p = true / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _read(path: str) -> List[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def tally(ledger: Iterable[dict], current: Iterable[dict]) -> Dict[str, dict]:
    """Per kind: ``first`` (verdict counts of first-sight judgements) and ``now`` (verdict
    counts of the current findings the ledger judges, by (tier, verdict))."""
    table: Dict[str, dict] = defaultdict(lambda: {"first": Counter(), "now": Counter()})
    judged: Dict[str, dict] = {}
    for entry in ledger:
        judged[key_of(entry)] = entry
        if str(entry.get("reason", "")).startswith(FIRST_SIGHT):
            table[kind_of(entry["code"], entry.get("message", ""))]["first"][entry["verdict"]] += 1
    seen = set()
    for finding in current:
        key = finding.get("key") or key_of(finding)
        entry = judged.get(key)
        if entry is None or (finding.get("set"), key) in seen:
            continue
        seen.add((finding.get("set"), key))
        kind = kind_of(finding["code"], finding["message"])
        table[kind]["now"][(finding.get("confidence", "high"), entry["verdict"])] += 1
    return dict(table)


def _share(true: int, false: int) -> str:
    if true + false == 0:
        return "     -              "
    low, high = wilson(true, false)
    return f"{100 * true / (true + false):5.1f} % [{100 * low:4.1f}-{100 * high:5.1f}]"


def report(table: Dict[str, dict], least: int = 0) -> List[str]:
    lines = [f"{'kind':42s} {'first sight T/F/D':>17s}  {'share true [Wilson 95 %]':24s}"
             f" {'now high T/F':>12s} {'share':>7s}  {'now low T/F':>11s}"]
    for kind in sorted(table):
        first, now = table[kind]["first"], table[kind]["now"]
        if first["true"] + first["false"] + sum(now.values()) < least:
            continue
        ht, hf = now[("high", "true")], now[("high", "false")]
        lt, lf = now[("low", "true")], now[("low", "false")]
        high_share = f"{100 * ht / (ht + hf):5.1f} %" if ht + hf else "      -"
        lines.append(f"{kind:42s} {first['true']:5d}/{first['false']:4d}/{first['debatable']:3d}    "
                     f"{_share(first['true'], first['false'])} {ht:6d}/{hf:4d} {high_share:>7s}  {lt:6d}/{lf:4d}")
    for tier in ("high", "low"):
        true = sum(table[kind]["now"][(tier, "true")] for kind in table)
        false = sum(table[kind]["now"][(tier, "false")] for kind in table)
        lines.append(f"now, every kind at {tier}: {true} true / {false} false, {_share(true, false)}")
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("findings", nargs="+", help="run.py findings files (last-findings-*.jsonl)")
    parser.add_argument("--ledger", default=LEDGER, help="ledger file (default: ledger.jsonl)")
    parser.add_argument("--least", type=int, default=0, metavar="N",
                        help="leave out kinds with fewer than N judged findings in all")
    options = parser.parse_args(argv)
    try:
        ledger = _read(options.ledger)
        current = [finding for path in options.findings for finding in _read(path)]
    except (OSError, ValueError) as error:
        print(f"tiers.py: {error}", file=sys.stderr)
        return 2
    print("\n".join(report(tally(ledger, current), options.least)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
