"""The docs promise only what exists, and their figures come from the commands that measure them.

1. Every `react-ros …` command a doc names (in code spans and code blocks) is a sub-command of the real
   parser, and every `--option` written in that command exists on it.
2. On the pages whose subject is measurement (docs_figures.FIGURE_PAGES) no measured figure (a number with a
   unit of time, a percentage or a speed-up) is typed outside a generated section, except the settings
   listed by name: prose refers to the generated tables instead of retyping them, which is how the drift
   of issue 12 happened.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from docs_figures import FIGURE_PAGES, ROOT, doc_pages, hand_typed_figures

from react_ros.cli import build_parser

COMMAND = re.compile(r"react-ros((?:[ \t]+[^\s`|;&>)(]+)+)")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps sub-commands in a private action; there is no public API
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def _commands(text: str):
    """(command words, whole command) for each `react-ros …` inside code spans and code blocks."""
    code = re.findall(r"```.*?```", text, flags=re.S) + re.findall(r"`[^`\n]+`", re.sub(r"```.*?```", "", text,
                                                                                          flags=re.S))
    for chunk in code:
        for line in chunk.splitlines():
            for match in COMMAND.finditer(line):
                yield match.group(1).split()


def check_command(words: list[str]) -> str | None:
    parser = build_parser()
    path = ["react-ros"]
    i = 0
    while i < len(words):
        choices = _subparsers(parser)
        if not choices:
            break
        word = words[i]
        if word.startswith("-") or word in ("…", "...") or not re.fullmatch(r"[a-z][a-z0-9-]*(\|[a-z0-9-]+)*", word):
            break
        names = word.split("|")  # `react-ros data synth|check` names several
        missing = [n for n in names if n not in choices]
        if missing:
            return f"{' '.join(path)} has no sub-command {missing[0]!r} (it has {sorted(choices)})"
        parser = choices[names[0]]
        path.append(names[0])
        i += 1
    if _subparsers(parser) and len(path) == 1:
        return None  # a bare `react-ros`: fine
    known = _options(parser)
    for word in words[i:]:
        option = word.split("=")[0]
        if re.fullmatch(r"--[a-z][a-z0-9-]*", option) and option not in known:
            return f"{' '.join(path)} has no option {option}"
    return None


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_name_only_commands_and_options_that_exist(page):
    problems = {" ".join(words): error for words in _commands(page.read_text())
                if (error := check_command(words))}
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(f"`react-ros {c}`: {e}" for c, e in problems.items())


def _all_options(parser: argparse.ArgumentParser) -> set[str]:
    options = _options(parser)
    for sub in _subparsers(parser).values():
        options |= _all_options(sub)
    return options


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_options_named_on_their_own_exist(page):
    """A code span that is an option on its own (`--long-minutes`, `--precision int8_cpu`) names an option
    of some react-ros command (spans of other tools' command lines, trtexec or torchrun, start with the tool)."""
    known = _all_options(build_parser())
    prose = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    unknown = {span for span in re.findall(r"`(--[a-z][a-z0-9-]*)[^`]*`", prose) if span not in known}
    assert not unknown, f"{page.relative_to(ROOT)} names options no react-ros command has: {sorted(unknown)}"


def test_the_command_check_catches_what_it_is_for():
    assert check_command(["tune"]) and "no sub-command" in check_command(["tune"])
    assert check_command(["bench", "--quick", "--no-such-option"]) == "react-ros bench has no option --no-such-option"
    assert check_command(["data", "synth|check", "--out", "x"]) is None
    assert check_command(["tune-sampling", "--help"]) is None


@pytest.mark.parametrize("page", FIGURE_PAGES, ids=str)
def test_figures_outside_generated_sections_come_from_them(page):
    unbacked = hand_typed_figures(ROOT / page)
    assert not unbacked, (f"{page}: figures typed by hand (not in a generated section): "
                          + "; ".join(f"line {n}: {f!r}" for n, f in unbacked))


def test_the_figure_check_catches_a_drifted_figure(tmp_path):
    page = tmp_path / "page.md"
    generated = "<!-- react-ros bench: generated section, do not edit by hand -->\n| window | 1.72 ms | 6.3 % |\n" \
                "<!-- react-ros bench: end of generated section -->\n"
    page.write_text("The window time is in the table below.\n" + generated)
    assert hand_typed_figures(page) == []
    page.write_text("The window takes 1.9-2 ms, fp16 is 7-50 % slower, the run 4 min 42 s.\n" + generated)
    assert [f for _, f in hand_typed_figures(page)] == ["1.9-2 ms", "7-50 %", "4 min", "42 s"]


def test_readme_status_and_ros_latency_tables_are_generated_from_the_current_results():
    """README's status table and docs/ros.md's latency table are written by scripts/doc_tables.py from the
    result files; a result re-measured without re-running it (or a table edited by hand) fails here."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "doc_tables.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
