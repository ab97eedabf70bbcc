"""Rule specs (rules/*.md): their format, their examples run through memlint, the README table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memlint.api import check_source
from memlint.rules import RULE_CLASSES
from memlint.specs import REQUIRED_SECTIONS, SpecError, load_specs, parse_spec, rule_table_markdown, spec_dir

from conftest import REPO_ROOT

SPECS = load_specs(REPO_ROOT / "rules")
EXAMPLES = [(code, index, block) for code, spec in SPECS.items() for index, block in enumerate(spec.code_blocks("Example"))]
USE_INSTEAD = [
    (code, index, block) for code, spec in SPECS.items() for index, block in enumerate(spec.code_blocks("Use instead"))
]


def test_every_spec_file_parses_and_is_named_by_its_code():
    files = sorted(path.stem for path in (REPO_ROOT / "rules").glob("*.md"))
    assert list(SPECS) == files
    for code, spec in SPECS.items():
        assert spec.body.startswith(f"# {code}: {spec.name}\n")
        assert [title for title in spec.sections if title in REQUIRED_SECTIONS] == list(REQUIRED_SECTIONS)


def test_in_a_checkout_specs_come_from_the_repository():
    assert spec_dir().resolve() == (REPO_ROOT / "rules").resolve()


def test_every_rule_class_has_a_spec_with_examples():
    for code in RULE_CLASSES:
        assert code in SPECS, f"{code} is registered in memlint.rules but rules/{code}.md is missing"
        assert SPECS[code].code_blocks("Example"), f"rules/{code}.md has no ```python block under Example"
        assert SPECS[code].code_blocks("Use instead"), f"rules/{code}.md has no ```python block under Use instead"


def test_names_are_unique():
    names = [spec.name for spec in SPECS.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("code, index, block", EXAMPLES, ids=[f"{c}-example-{i}" for c, i, _ in EXAMPLES])
def test_example_blocks_draw_their_rule(code, index, block):
    # An example of low confidence says so in a comment naming the flag that shows it.
    low = "--confidence low" in block
    config = {"select": [code], "confidence": "low" if low else "high"}
    findings = check_source(block, path=f"example_{code.lower()}.py", config=config)
    drawn = {finding.confidence for finding in findings if finding.code == code}
    assert drawn == ({"low"} if low else {"high"}), f"rules/{code}.md Example #{index} ({drawn}):\n{block}"
    assert "MEM900" not in {finding.code for finding in findings}


@pytest.mark.parametrize("code, index, block", USE_INSTEAD, ids=[f"{c}-use-instead-{i}" for c, i, _ in USE_INSTEAD])
def test_use_instead_blocks_draw_nothing_of_their_rule(code, index, block):
    findings = check_source(block, path=f"use_instead_{code.lower()}.py", config={"select": [code]})
    assert [f for f in findings if f.code in (code, "MEM000", "MEM900")] == [], block


def test_readme_rule_table_matches_the_specs():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- rule-table:start -->\n(.*?)<!-- rule-table:end -->", readme, re.DOTALL)
    assert match is not None, "README.md lacks the <!-- rule-table:start/end --> markers"
    expected = rule_table_markdown(SPECS)
    assert match.group(1).strip() == expected.strip(), f"regenerate the README rule table:\n{expected}"


# --------------------------------------------------------------------------- the parser itself

GOOD = """---
code: MEM777
name: some-rule
summary: One sentence.
default: off
fixable: sometimes
---
# MEM777: some-rule

## What it does

Does
things.

## Why is this bad?

Because.

## Known problems

Some.

## Example

```python
x = 1
```

```text
not python
```

## Use instead

```python
# ## not a heading inside a fence
y = 2
```

## Fix safety

Safe.

## References

- here
"""


def test_parse_good_spec():
    spec = parse_spec(GOOD, "MEM777.md")
    assert (spec.code, spec.name, spec.summary, spec.default, spec.fixable) == (
        "MEM777", "some-rule", "One sentence.", False, "sometimes",
    )
    assert spec.code_blocks("Example") == ["x = 1\n"]
    assert spec.code_blocks("Example", "text") == ["not python\n"]
    assert spec.code_blocks("Use instead") == ["# ## not a heading inside a fence\ny = 2\n"]
    assert spec.description == "Does things."
    assert spec.sections["Known problems"] == "Some."


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.replace("---\n", "", 1), "must start with a '---' front-matter line"),
        (lambda t: t.replace("fixable: sometimes\n---", "fixable: sometimes\n"), "not closed"),
        (lambda t: t.replace("default: off", "default: maybe"), "default must be 'on' or 'off'"),
        (lambda t: t.replace("fixable: sometimes", "fixable: yes"), "fixable must be one of"),
        (lambda t: t.replace("name: some-rule", "name: Some_Rule"), "not a kebab-case symbol"),
        (lambda t: t.replace("code: MEM777", "code: mem777"), "is not like MEM001"),
        (lambda t: t.replace("summary: One sentence.\n", ""), "front matter lacks summary"),
        (lambda t: t.replace("summary:", "colour: x\nsummary:"), "unknown front-matter key 'colour'"),
        (lambda t: t.replace("summary:", "bad line\nsummary:"), "expected 'key: value'"),
        (lambda t: t.replace("# MEM777: some-rule", "# MEM777: other"), "must start with the heading"),
        (lambda t: t.replace("## Fix safety", "## Fixes"), "missing section\\(s\\): Fix safety"),
    ],
)
def test_malformed_specs_are_rejected_with_the_file_name(change, message):
    with pytest.raises(SpecError, match=r"^MEM777.md.*" + message):
        parse_spec(change(GOOD), "MEM777.md")


def test_file_name_must_match_code(tmp_path: Path):
    (tmp_path / "MEM778.md").write_text(GOOD)
    with pytest.raises(SpecError, match="does not match the file name"):
        load_specs(tmp_path)


def test_empty_spec_folder_is_an_error(tmp_path: Path):
    with pytest.raises(SpecError, match="no \\*.md files"):
        load_specs(tmp_path)
