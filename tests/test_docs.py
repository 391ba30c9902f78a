"""The docs stay true: README examples run and print what they say; error codes are documented."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from dunning.cli import main
from dunning.errors import CASE_CODES, POLICY_CODES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _expected_output(block: str) -> str:
    """Output a README block promises: `# ` comment lines, or a comment after `print(...)`."""
    lines = []
    for line in block.splitlines():
        if line.startswith("# "):
            lines.append(line[2:])
        elif line.startswith("print(") and "  # " in line:
            lines.append(line.split("  # ", 1)[1].strip())
    return "\n".join(lines)


def test_readme_python_examples_print_what_they_promise() -> None:
    namespace: dict[str, object] = {}
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), namespace)
        assert out.getvalue().rstrip("\n") == _expected_output(block)


def test_readme_shows_the_real_demo_output() -> None:
    shown = re.search(r"```text\n(Decisions of policy.*?)```", README, re.S)
    assert shown is not None
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"^demo:.*?\n\t\$\(BIN\)/dunning (.*?)\n\n", makefile, re.S | re.M)
    assert command is not None
    argv = command.group(1).replace("\\\n", " ").split()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    assert out.getvalue() == shown.group(1)


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
