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


def test_every_docs_page_a_file_points_to_exists() -> None:
    # rules/agencies.yaml sent its reader to docs/agencies.md, which never existed (issue 38).
    named = {
        (path.relative_to(ROOT), page)
        for folder in ("rules", "src", "examples", "benchmarks", "tools", "docs")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".yaml", ".md", ".toml") and path.is_file()
        for page in re.findall(r"docs/([\w-]+\.md)", path.read_text(encoding="utf-8"))
    }
    missing = sorted(
        f"{path}: docs/{page}" for path, page in named if not (ROOT / "docs" / page).exists()
    )
    assert not missing, missing


def test_every_dunning_name_the_docs_call_is_there() -> None:
    # events.md named `dunning.read_desk`, which dunning does not export (issue 38).
    import importlib

    import dunning

    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in sorted(
            set(re.findall(r"`(dunning(?:\.\w+)+)", page.read_text(encoding="utf-8")))
        ):
            module, _, attribute = name.rpartition(".")
            try:
                found = hasattr(importlib.import_module(module), attribute)
            except ImportError:
                found = False
            if not found:
                try:
                    importlib.import_module(name)
                except ImportError:
                    missing.append(f"{page.name}: {name}")
    assert dunning and not missing, missing
