"""Every `regie` example in the README and the guides runs, as written, against a temporary instance.

The shell blocks (```sh, ```bash, ```console) of README.md and docs/*.md are read in order; each line
that starts with `regie` (or `.venv/bin/regie`) runs in this process, as the `regie` command does, and
must exit 0. Each markdown file gets its own instance: a fresh data dir with the embedded defaults, the
log notifier, and the Prefect test server standing in for the one `regie up` starts. Working directory
is a temporary folder that sees the repository's files (so `regie schema -o x.json` writes nothing into
the repository). A COA list named by an example is put into the import folder first.

A scenario shown as a ```yaml block (it has `definition:` and `events:`) is simulated too.

Markers, as HTML comments on the line right before a block (invisible on GitHub):

- `<!-- example: skip (reason) -->`: the block is not run (long-running commands such as `regie up`);
- `<!-- example: setup regie ... -->`: run this first, in the same instance (e.g. the case a block uses).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integrations.test_coa_import import GOOD as COA_LIST

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*example:\s*(skip|setup)\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    """One fenced block of a markdown file, with the markers right before it."""

    file: str
    line: int
    language: str
    text: str
    skip: str | None = None
    setup: list[str] = field(default_factory=list)

    @property
    def commands(self) -> list[list[str]]:
        """The `regie` command lines of a shell block, each as argv without the program name."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        found = []
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.match(r"^[A-Z_]+=", words[0]):  # settings given for this command only
                words = words[1:]
            if words and Path(words[0]).name == "regie":
                found.append(words[1:])
        return found


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        block = Block(path.name, i + 1, opening[1], "\n".join(lines[i + 1:end]) + "\n")
        k = i - 1
        while k >= 0 and (marker := MARKER.match(lines[k])):
            if marker[1] == "skip":
                block.skip = marker[2] or "no reason given"
            else:
                block.setup.insert(0, marker[2])
            k -= 1
        found.append(block)
        i = end + 1
    return found


def shell_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.language in ("sh", "bash", "console") and b.commands]


def scenario_blocks(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.language == "yaml" and re.search(r"(?m)^definition:", b.text)
            and re.search(r"(?m)^events:", b.text)]


def test_the_markers_are_few_and_each_skip_gives_a_reason():
    skipped = [b for path in DOCS for b in shell_blocks(path) if b.skip is not None]
    assert all(b.skip != "no reason given" for b in skipped), skipped
    assert len(skipped) <= 4, [f"{b.file}:{b.line}" for b in skipped]


def test_the_readme_has_examples_to_run():
    assert shell_blocks(ROOT / "README.md") and scenario_blocks(ROOT / "README.md")


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A temporary Regie instance: its own data dir and working directory, log notifier, no profile secrets."""
    work = tmp_path / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".regie", ".venv", ".git") and not entry.name.startswith("."):
            (work / entry.name).symlink_to(entry)
    before = dict(os.environ)
    monkeypatch.chdir(work)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_NOTIFIER", "log")
    monkeypatch.setenv("REGIE_PSEUDONYM_KEY", "doc-examples")
    for name in ("REGIE_DATABASE_URL", "REGIE_DEFINITIONS_DIR", "REGIE_IMPORT_DIR", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "data"
    for key in set(os.environ) - set(before):  # what the commands set for Prefect
        del os.environ[key]


LONG_RUNNING = ("up", "portal")
"""Commands that serve until Ctrl-C: a block holding one must be marked skip (or it would hang here)."""


def run(argv: list[str], where: str, data_dir: Path) -> None:
    from cli.main import main

    assert argv[:1] != [] and argv[0] not in LONG_RUNNING, f"{where}: `regie {shlex.join(argv)}` runs until " \
        "stopped: mark the block <!-- example: skip (reason) -->"

    if argv[:2] == ["import", "koppelingen"] and len(argv) > 2:
        folder = data_dir / "import"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / argv[2]).write_text(COA_LIST, encoding="utf-8")
    code = main(argv)
    assert code == 0, f"{where}: `regie {shlex.join(argv)}` exited {code}"


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("path", [p for p in DOCS if shell_blocks(p)], ids=lambda p: p.name)
def test_every_shell_example_runs(path, instance):
    for block in shell_blocks(path):
        if block.skip is not None:
            continue
        where = f"{block.file}:{block.line}"
        for setup in block.setup:
            run(shlex.split(setup)[1:], f"{where} (setup)", instance)
        for argv in block.commands:
            run(argv, where, instance)


@pytest.mark.parametrize("path", [p for p in DOCS if scenario_blocks(p)], ids=lambda p: p.name)
def test_every_scenario_shown_simulates(path, tmp_path, capsys):
    from cli.main import main

    for n, block in enumerate(scenario_blocks(path)):
        scenario = tmp_path / f"scenario-{n}.yaml"
        scenario.write_text(block.text, encoding="utf-8")
        assert main(["simulate", str(scenario)]) == 0, f"{block.file}:{block.line}: {capsys.readouterr().err}"
