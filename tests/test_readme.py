"""Every code block of README.md is a test.

The README may hold three kinds of fenced blocks; anything else (another language, or an
indented code block) fails `test_every_block_is_a_test`, so no example escapes testing:

* ```python: run with `exec`, in order. The blocks of one `## ` section share a namespace (a
  later block may use what an earlier one defined); each section is one test. A block shows
  values with `assert`. Blocks run in a temporary working directory; if a section mentions
  `DATABASE_URL`, that environment variable names a fresh copy of the demo database.
* ```console: shell sessions. A line `$ command` is run (only `pgrest …` and `curl …`); the lines
  up to the next `$` are its expected output (stdout and stderr as a terminal shows them).
  `pgrest serve --demo …` is started once, on a free port, by the `demo_server` fixture; its
  first line of output is the expected one, and `curl` commands are pointed at it.
  A `postgresql://…` URI in a `pgrest` command is replaced by a fresh copy of the demo database.
* ```text: diagrams, not code.

What is normalised before comparing, because it truly varies: the demo server's port (shown as
3000), the database URI, timings (`1.23 ms`), the `date:` header, line endings and trailing
spaces. Nothing else.

A small parser instead of pytest-examples or sybil: those run Python blocks (pytest-examples
only fenced ones), but neither runs a shell session against a server started by a fixture.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pgrest_server.postgres import postgres_available

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DESIGN_CARD_EXAMPLE = 'pgrest translate "GET /people?age=gt.18"'
README_PORT = "3000"
LANGUAGES = ("python", "console", "text")
needs_postgres = pytest.mark.skipif(not postgres_available(), reason="no PostgreSQL server binaries")


@dataclass(frozen=True, slots=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence, 1-based
    section: str


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    expected: str
    line: int

    @property
    def needs_server(self) -> bool:
        return self.argv[0] == "curl"

    @property
    def starts_server(self) -> bool:
        return self.argv[:2] == ("pgrest", "serve")


_FENCE = re.compile(r"^```(\S*)\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+\.)\s")


def parse_blocks(text: str) -> tuple[list[Block], list[int]]:
    """The fenced blocks, and the line numbers of indented code blocks (which are not allowed)."""
    blocks: list[Block] = []
    indented: list[int] = []
    section = "(top)"
    fence: tuple[str, int, list[str]] | None = None
    previous = ""
    last_text = ""  # the last non-blank line outside code, to tell list continuations apart
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is not None:
            if line.rstrip() == "```":
                blocks.append(Block(fence[0], "\n".join(fence[2]) + "\n", fence[1], section))
                fence = None
            else:
                fence[2].append(line)
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = (opening.group(1), number, [])
        elif line.startswith("## "):
            section = line[3:].strip()
        elif re.match(r"^( {4}|\t)\S", line) and not previous.strip() and not _LIST_ITEM.match(last_text):
            indented.append(number)
        if line.strip() and not line.startswith((" ", "\t")):
            last_text = line
        previous = line
    if fence is not None:
        raise ValueError(f"README.md:{fence[1]}: the code block is never closed")
    return blocks, indented


def parse_commands(block: Block) -> list[Command]:
    """`$ command` lines of a console block with the output lines that follow each."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("$ "):
            if not commands:
                raise ValueError(f"README.md:{block.line}: a console block starts with '$ command'")
            continue
        output: list[str] = []
        for following in lines[index + 1 :]:
            if following.startswith("$ "):
                break
            output.append(following)
        argv = tuple(shlex.split(line[2:]))
        commands.append(Command(argv, "\n".join(output), block.line + 1 + index))
    return commands


BLOCKS, INDENTED = parse_blocks(README.read_text(encoding="utf-8"))
COMMANDS = [command for block in BLOCKS if block.language == "console" for command in parse_commands(block)]
SECTIONS = list(dict.fromkeys(block.section for block in BLOCKS if block.language == "python"))


def normalise(text: str, port: str | None = None) -> str:
    if port is not None:
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{README_PORT}")
    text = re.sub(r"\b\d+\.\d+ ms\b", "<t> ms", text)
    text = re.sub(r"(?im)^date: .*$", "date: <date>", text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# -- the structure ----------------------------------------------------------------------------


def test_every_block_is_a_test() -> None:
    assert not INDENTED, f"README.md lines {INDENTED}: use fenced blocks (```console, ```python)"
    unknown = [(block.line, block.language) for block in BLOCKS if block.language not in LANGUAGES]
    assert not unknown, f"README.md blocks of no known kind (line, language): {unknown}; use {LANGUAGES}"
    for command in COMMANDS:
        assert command.argv[0] in ("pgrest", "curl"), f"README.md:{command.line}: only pgrest and curl run"


def test_the_parser_finds_blocks_and_commands() -> None:
    text = (
        "## A\n\n```python\nx = 1\n```\n\n    indented\n\n- item\n\n    list continuation\n\n"
        "## B\n\n```console\n$ pgrest translate 'GET /t'\nout 1\nout 2\n$ curl x\n```\n"
    )
    blocks, indented = parse_blocks(text)
    assert [(b.language, b.section, b.line) for b in blocks] == [("python", "A", 3), ("console", "B", 15)]
    assert indented == [7]
    commands = parse_commands(blocks[1])
    assert [(c.argv, c.expected, c.line) for c in commands] == [
        (("pgrest", "translate", "GET /t"), "out 1\nout 2", 16),
        (("curl", "x"), "", 19),
    ]


def test_normalise_touches_only_what_varies() -> None:
    actual = "HTTP/1.1 200 OK\r\ndate: Sat, 05 Dec 2026 04:12:20 GMT\r\nat http://127.0.0.1:41234/ \n-- parse: 0.14 ms"
    expected = "HTTP/1.1 200 OK\ndate: Mon, 01 Jan 2024 00:00:00 GMT\nat http://127.0.0.1:3000/\n-- parse: 9.99 ms"
    assert normalise(actual, "41234") == normalise(expected)
    assert normalise("[1, 2]") != normalise("[1,2]")
    assert normalise("HTTP/1.1 200 OK") != normalise("HTTP/1.1 201 Created")
    assert normalise("port 41234") == "port 41234"  # only the server's address is rewritten


def test_the_design_cards_example_is_in_the_readme_and_works() -> None:
    """`pgrest translate "GET /people?age=gt.18"` verbatim, through the installed console script."""
    assert f"$ {DESIGN_CARD_EXAMPLE}\n" in README.read_text(encoding="utf-8")
    script = shutil.which("pgrest", path=os.path.dirname(sys.executable)) or shutil.which("pgrest")
    argv = shlex.split(DESIGN_CARD_EXAMPLE)
    if script is not None:
        argv[0] = script
    else:
        argv[:1] = [sys.executable, "-m", "pgrest_cli"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=_env())
    assert done.returncode == 0, done.stderr
    assert '"people"."age" > $1' in done.stdout and done.stdout.endswith('-- parameters: ["18"]\n')


# -- python blocks ----------------------------------------------------------------------------


@pytest.mark.parametrize("section", SECTIONS)
def test_python_blocks(
    section: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    blocks = [block for block in BLOCKS if block.language == "python" and block.section == section]
    if any("DATABASE_URL" in block.text for block in blocks):
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("demo_db_uri"))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        code = compile(block.text, f"README.md:{block.line}", "exec")
        exec(code, namespace)


# -- console blocks -----------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pgrest(argv: tuple[str, ...]) -> list[str]:
    return [sys.executable, "-m", "pgrest_cli", *argv[1:]]


@dataclass(frozen=True, slots=True)
class DemoServer:
    port: str
    first_line: str


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The README's own `pgrest serve --demo` command, on a free port."""
    starts = [command for command in COMMANDS if command.starts_server]
    assert len(starts) == 1, "the README starts the demo server once"
    port = str(_free_port())
    argv = tuple(port if arg == README_PORT else arg for arg in starts[0].argv)
    log = tmp_path_factory.mktemp("demo") / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(_pgrest(argv), cwd=ROOT, env=_env(), stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(int(port), process, log, seconds=120)
        first_line = log.read_text().splitlines()[0]
        yield DemoServer(port, first_line)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the demo server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the demo server did not start listening")


def _with_database(argv: tuple[str, ...], uri: str) -> tuple[str, ...]:
    return tuple(re.sub(r"^postgresql://\S+$", uri, arg) for arg in argv)


@pytest.mark.parametrize("command", COMMANDS, ids=[f"line {c.line}: {shlex.join(c.argv)[:60]}" for c in COMMANDS])
def test_console_command(command: Command, request: pytest.FixtureRequest) -> None:
    port = None
    if command.starts_server or command.needs_server:
        if not postgres_available():
            pytest.skip("no PostgreSQL server binaries")
        server: DemoServer = request.getfixturevalue("demo_server")
        port = server.port
    if command.starts_server:
        actual = server.first_line
    elif command.argv[0] == "curl":
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        curl = [arg.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}") for arg in command.argv]
        # curl's progress meter goes to stderr, which a terminal would not show for piped output;
        # only stdout is compared, and curl must succeed.
        done = subprocess.run(curl, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        actual = done.stdout
    else:
        argv = command.argv
        if any(arg.startswith("postgresql://") for arg in argv):
            if not postgres_available():
                pytest.skip("no PostgreSQL server binaries")
            argv = _with_database(argv, request.getfixturevalue("demo_db_uri"))
        done = subprocess.run(
            _pgrest(argv), cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=120,
        )
        actual = done.stdout
    assert normalise(actual, port) == normalise(command.expected), (
        f"README.md:{command.line}: the output differs; it was:\n{actual}"
    )
