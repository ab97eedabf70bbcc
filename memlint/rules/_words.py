"""Phrasing the resource rules share: how a resource and an exception are named."""

from __future__ import annotations

import libcst as cst

from memlint.knowledge.spec import ResourceSpec

VOWELS = ("a", "e", "i", "o", "u")
LETTERS_READ_WITH_A_VOWEL = "AEFHILMNORSX"


def with_article(kind: str) -> str:
    """"a file", "an executor", "a `Pool` object" (a code name always takes "a")."""
    if kind.startswith("`"):
        return "a " + kind
    first = kind.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        # An initialism is read letter by letter: "an HTTP connection", "an SSL socket".
        return ("an " if first[0] in LETTERS_READ_WITH_A_VOWEL else "a ") + kind
    return ("an " if kind.lower().startswith(VOWELS) else "a ") + kind


def subject(name: str, spec: ResourceSpec, label: str, in_container: bool = False) -> str:
    """"`f` (a file from `open()`)"; "each file in `files` (from `open()`)" for a list of them."""
    if in_container:
        return f"each {spec.kind} in `{name}` (from {label})"
    return f"`{name}` ({with_article(spec.kind)} from {label})"


def raise_phrase(witness: object, kind: str, witness_label: str) -> str:
    """How an exception that leaves a resource held is described, from the fact's witness."""
    if witness is None:
        return "when an exception is raised"
    if kind == "reraise":
        return "when the exception re-raised at line {L0} propagates"
    if isinstance(witness, cst.Call):
        return f"when {witness_label} raises (line {{L0}})"
    if isinstance(witness, cst.Await):
        return "when the `await` at line {L0} raises"
    if isinstance(witness, cst.Yield):
        return "when the generator is closed at the `yield` on line {L0}"
    if isinstance(witness, cst.Assert):
        return "when the `assert` at line {L0} fails"
    return "when line {L0} raises"


def non_closing_with_words(spec: ResourceSpec) -> str:
    """Why a ``with`` on the resource did not release it (its ``__exit__`` does not close)."""
    if spec.exit == "commits-only":
        return f"`with` on {with_article(spec.kind)} commits or rolls back but does not close it (use `contextlib.closing`)"
    return f"`with` on {with_article(spec.kind)} does not close it"
