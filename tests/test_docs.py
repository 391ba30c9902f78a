"""The docs stay true: README examples run and print what they say; error codes are documented."""

from __future__ import annotations

import re
from pathlib import Path

from dunning.errors import CASE_CODES, POLICY_CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_demo_is_what_make_demo_runs() -> None:
    # The output itself is checked with every other example (test_doc_examples.py).
    shown = re.search(r"```text\n\$ dunning (decide .*?)\nDecisions\n  Policy", README)
    assert shown is not None
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"^demo:.*?\n\t\$\(BIN\)/dunning (.*?[^\\])\n\t", makefile, re.S | re.M)
    assert command is not None
    assert command.group(1).replace("\\\n", " ").split() == shown.group(1).split()


_CODE_PATTERNS = [
    r'(?:PydanticCustomError|ExprError|CheckError)\(\s*"([a-z_-]+)"',
    r'Problem\(\s*"[^"]*",\s*"([a-z_-]+)"',
    r'\.add\(\s*(?:\([^()]*\)|\w+),\s*"([a-z_-]+)"',
    r'report\(\s*[\w.]+(?:\([^()]*\))?,\s*"([a-z_-]+)"',
]


def test_every_error_code_is_registered_and_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    in_code = {code for pattern in _CODE_PATTERNS for code in re.findall(pattern, source)}
    registered = set(CASE_CODES) | set(POLICY_CODES)
    assert len(in_code) >= 50
    assert in_code <= registered, in_code - registered
    errors_md = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### ([a-z_-]+)$", errors_md, re.M))
    assert documented == registered
