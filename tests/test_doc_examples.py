"""Every shell and Python example of README.md and docs/ runs, and prints what it shows.

The conventions (docs/contributing.md, "Examples in the docs"):

- ```` ```pycon ```` blocks are doctests (``>>>``): run, output compared exactly (``...`` matches
  anything, as doctest's ELLIPSIS).
- ```` ```python ```` blocks are run; a block whose first line is ``# path/to/file.py`` is
  written to that file instead (for a later command to use).
- Shell: a ```` ```text ```` or ```` ```console ```` block of ``$ command`` lines, each followed by
  the output it shows (a line ``...`` matches any lines; no output shown: it must succeed),
  and ```` ```sh ```` blocks of commands without output (each must succeed). Commands are
  ``dunning``, ``pytest``, ``make`` (dry run), ``python benchmarks/…`` (``--help``), and
  ``cat``/``head`` to show an input file. A ``dunning`` command may end ``> FILE`` or ``>> FILE``:
  its standard output goes to that file of the sandbox, and the output shown is its standard
  error.
- A document's blocks run in order, in one Python namespace, in a sandbox directory holding
  copies of ``rules/`` and ``examples/``. ``<!-- doctest-setup ... -->`` right before a block
  runs Python first (``replace``, ``write``, ``copy``, ``head``), undone after the block.
- ``make TARGET`` runs as ``make -n`` in the project (the suite cannot run itself);
  ``python benchmarks/...`` is checked against its ``--help`` (a full benchmark takes minutes;
  ``tests/test_bench.py`` runs the quick ones in the slow profile).
- A ```` ```json ```` block that is a whole case (``case_id`` and ``loan``) must parse.
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dunning

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
_FENCE = re.compile(r"^```(\w*)\s*$")
_DIRECTIVE = re.compile(r"<!--\s*doctest-setup(.*?)-->", re.S)
#: The rete engine needs durable-rules, which does not build on CPython 3.13+.
HAVE_DURABLE = __import__("importlib").util.find_spec("durable") is not None


@dataclass
class Block:
    """A fenced block of a document, with the directive written right before it."""

    doc: Path
    line: int  # of the opening fence
    lang: str
    text: str
    setup: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks_of(doc: Path) -> list[Block]:
    """Every fenced block of ``doc``, with its directive."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = "\n".join(lines[max(0, i - 30) : i]).rstrip()
        block = Block(doc, i + 1, opening.group(1), "\n".join(lines[i + 1 : end]) + "\n")
        directives = list(_DIRECTIVE.finditer(before))
        if directives and before.endswith("-->"):
            block.setup = directives[-1].group(1).strip("\n")
        found.append(block)
        i = end + 1
    return found


def is_example(block: Block) -> bool:
    if block.lang in ("python", "pycon", "sh", "console"):
        return True
    if block.lang == "json":
        return '"case_id"' in block.text and '"loan"' in block.text
    return block.lang == "text" and block.text.startswith("$ ")


# --- the sandbox --------------------------------------------------------------------------------


class Sandbox:
    """A directory with copies of the project's rules and examples; edits can be undone."""

    def __init__(self, path: Path) -> None:
        self.path = path
        for folder in ("rules", "examples"):
            shutil.copytree(ROOT / folder, path / folder)
        self._saved: dict[Path, bytes | None] = {}

    def _keep(self, name: str) -> Path:
        target = self.path / name
        if target not in self._saved:
            self._saved[target] = target.read_bytes() if target.exists() else None
        return target

    def replace(self, name: str, old: str, new: str) -> None:
        target = self._keep(name)
        text = target.read_text(encoding="utf-8")
        assert old in text, f"doctest-setup: {old!r} is not in {name}"
        target.write_text(text.replace(old, new, 1), encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        target = self._keep(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def append(self, name: str, text: str) -> None:
        target = self._keep(name)
        with target.open("a", encoding="utf-8") as out:
            out.write(text)

    def copy(self, source: str, name: str) -> None:
        self.write(name, (self.path / source).read_text(encoding="utf-8"))

    def head(self, source: str, name: str, count: int) -> None:
        lines = (self.path / source).read_text(encoding="utf-8").splitlines(keepends=True)
        self.write(name, "".join(lines[:count]))

    def helpers(self) -> dict[str, Callable[..., None]]:
        return {
            "replace": self.replace,
            "write": self.write,
            "append": self.append,
            "copy": self.copy,
            "head": self.head,
        }

    def undo(self) -> None:
        for target, content in self._saved.items():
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(content)
        self._saved.clear()


# --- running each kind of block -----------------------------------------------------------------


def run_pycon(block: Block, namespace: dict[str, Any]) -> None:
    parser = doctest.DocTestParser()
    test = doctest.DocTest(
        parser.get_examples(block.text, block.where),
        namespace,
        block.where,
        str(block.doc),
        block.line,
        block.text,
    )
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # DocTest works on a copy: later blocks see what this one made
    assert runner.failures == 0, f"{block.where}: the example prints otherwise\n" + "".join(report)


def run_python(block: Block, namespace: dict[str, Any], sandbox: Sandbox) -> None:
    first = block.text.split("\n", 1)[0]
    if re.fullmatch(r"# [\w./-]+\.py", first):
        sandbox.write(first[2:], block.text)  # a file a later command uses; kept
        sandbox._saved.pop(sandbox.path / first[2:], None)
        return
    exec(compile(block.text, block.where, "exec"), namespace)


def commands_of(block: Block) -> Iterator[tuple[str, list[str] | None]]:
    """Each command with the output lines it shows (``None``: none shown, must succeed)."""
    lines = block.text.splitlines()
    if block.lang == "sh":
        for line in lines:
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command and not command.startswith("#"):
                yield command, None
        return
    i = 0
    while i < len(lines):
        assert lines[i].startswith("$ "), f"{block.where}: expected a $ command: {lines[i]!r}"
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + lines[i].strip()
        i += 1
        shown = []
        while i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        yield command, (shown or None)


def run_command(command: str, sandbox: Sandbox) -> tuple[int, str]:
    argv = shlex.split(command)
    if len(argv) > 2 and argv[-2] in (">", ">>") and argv[0] == "dunning":
        # Standard output to a file of the sandbox (`>>` appends, as the runbook appends each
        # day's events); what the command shows is then its standard error.
        target, mode = sandbox.path / argv[-1], "a" if argv[-2] == ">>" else "w"
        return run_dunning(argv[1:-2], sandbox.path, into=(target, mode))
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100")
    cwd = sandbox.path
    if argv[0] == "make":
        argv, cwd = ["make", "-n", *argv[1:]], ROOT  # a dry run: the target and its recipe
    elif argv[0] == "python" and argv[1].startswith("benchmarks/"):
        done = subprocess.run(
            [sys.executable, str(ROOT / argv[1]), "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        options = [a.split("=")[0] for a in argv[2:] if a.startswith("--")]
        missing = [o for o in options if o not in done.stdout]
        return (done.returncode or bool(missing)), done.stdout + f"unknown options: {missing}"
    elif argv[0] in ("cat", "head"):
        pass  # shows a file of the sandbox (an example's input) as it is
    elif argv[0] == "dunning":
        return run_dunning(argv[1:], cwd)
    elif argv[0] == "pytest":
        argv = [sys.executable, "-m", *argv]
    else:
        pytest.fail(f"no way to run {command!r} in the docs' examples")
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )
    return done.returncode, done.stdout


def run_dunning(
    argv: list[str], cwd: Path, into: tuple[Path, str] | None = None
) -> tuple[int, str]:
    """``dunning ARGV`` in this process: its status, and standard output and error as one.

    As the installed command does, but without starting Python and importing dunning again
    for each of the docs' commands (half a second each, a sixth of the docs' examples' time).
    ``into`` sends standard output to a file instead (mode ``w`` or ``a``).
    """
    from dunning.cli import main

    captured = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    out = captured
    before, columns = Path.cwd(), os.environ.get("COLUMNS")
    os.chdir(cwd)
    os.environ["COLUMNS"] = "100"  # argparse's help is as wide as the subprocess's was
    try:
        with contextlib.ExitStack() as stack:
            if into is not None:
                out = stack.enter_context(open(into[0], into[1], encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(captured))
            status = main(argv)
    finally:
        os.chdir(before)
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return status, captured.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def matches(shown: list[str], output: str) -> bool:
    """Whether ``output`` is the ``shown`` lines, a ``...`` line standing for any lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in shown
    )
    return re.fullmatch(pattern, output if output.endswith("\n") else output + "\n") is not None


def run_shell(block: Block, sandbox: Sandbox) -> None:
    for command, shown in commands_of(block):
        status, output = run_command(command, sandbox)
        if shown is None:
            assert status == 0, f"{block.where}: `{command}` failed ({status}):\n{output}"
        else:
            assert matches(shown, output), (
                f"{block.where}: `{command}` prints otherwise. It printed:\n{output}"
            )


def run_json(block: Block) -> None:
    data = json.loads(block.text)
    dunning.parse_case(data)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.name)
def test_the_examples_run_and_print_what_they_show(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = Sandbox(tmp_path)
    monkeypatch.chdir(tmp_path)
    # The testing kit's checks at the suite's effort (test_testing_kit runs them at theirs):
    # testing.md's examples took 22 s at the default 200 scenarios each.
    monkeypatch.setenv("DUNNING_MAX_EXAMPLES", "25")
    namespace: dict[str, Any] = {"__name__": "__doc_example__"}
    examples = [block for block in blocks_of(doc) if is_example(block)]
    if not HAVE_DURABLE and any("rete" in block.text for block in examples):
        pytest.skip(f"{doc.name} runs the rete engine: durable-rules is not on this Python")
    for block in examples:
        if block.setup:
            exec(compile(block.setup, f"{block.where} (setup)", "exec"), sandbox.helpers())
        try:
            if block.lang == "pycon":
                run_pycon(block, namespace)
            elif block.lang == "python":
                run_python(block, namespace, sandbox)
            elif block.lang == "json":
                run_json(block)
            else:
                run_shell(block, sandbox)
        finally:
            sandbox.undo()


def test_the_conventions_find_examples_in_every_document_that_has_code() -> None:
    counted = {doc.name: sum(is_example(b) for b in blocks_of(doc)) for doc in DOCUMENTS}
    assert counted["README.md"] >= 5 and counted["api.md"] >= 6, counted


def test_the_command_synopses_name_exactly_each_commands_options() -> None:
    from dunning.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "decide" in a.choices).choices
    synopses = [
        b.text
        for b in blocks_of(ROOT / "docs" / "cli.md")
        if b.lang == "" and b.text.startswith("dunning ")
    ]
    assert {s.split()[1] for s in synopses} == set(commands)
    for synopsis in synopses:
        name = synopsis.split()[1]
        shown = set(re.findall(r"--[a-z-]+", synopsis)) - {"--help"}
        parsers = [commands[name]]
        for action in commands[name]._actions:  # `record KIND`: the options of every kind…
            if isinstance(action, argparse._SubParsersAction):
                parsers = list(action.choices.values())
                shown -= {"--FIELD"}  # …but each payload field, which `--FIELD` stands for
        real = {
            o
            for parser_ in parsers
            for a in parser_._actions
            if not a.dest.startswith("field_")
            for o in a.option_strings
            if o.startswith("--")
        }
        assert shown == real - {"--help"}, (name, shown ^ (real - {"--help"}))
