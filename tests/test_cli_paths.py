"""Every path option of every command, given each wrong kind of path, through the installed
`simplepose` in a subprocess: exit 2, one line naming the option and the path, no traceback,
nothing written.

The matrix is built from `simplepose.cli.build_parser()`: every option whose `type` is a
`commands.paths.PathArg` is a row, so an option added tomorrow is covered the day it gets its
kind (and `test_every_option_is_a_path_or_says_why_not` fails for an option that takes text
but declares no kind). The other options of a case get good-looking values that pass the path
check (a file that starts like a checkpoint, `[]` as results ...): the check comes before any
work, so no model is trained or loaded.

The installed command runs the first case of each (command, kind of path option) and of each
wrong kind, and those that decode a picture, in a subprocess (~30 starts of the console
script); the other cases, the same check on other options, call `simplepose.cli.main` in the
test's process with the same assertions (150 starts cost the suite ~45 s of CPU).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
from e2e_helpers import assert_one_clear_error, simplepose, simplepose_in_process

from simplepose.cli import HelpWithDefaults, build_parser
from simplepose.commands.paths import (
    FILE,
    FILE_OR_FOLDER,
    FOLDER,
    OUT_FILE,
    OUT_FOLDER,
    PathArg,
    command_parsers,
    option_name,
    path_options,
)

PARSERS = command_parsers(build_parser())
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads a chmod 000 file: no "unreadable" case

#: Wrong kinds of path for each kind of option.
WRONG: dict[str, tuple[str, ...]] = {
    FILE: ("missing", "folder", "empty", "unreadable", "wrong-content"),
    FOLDER: ("missing", "file", "empty", "unreadable", "wrong-content"),
    FILE_OR_FOLDER: ("missing", "empty", "empty-folder", "unreadable", "wrong-content", "wrong-suffix"),
    OUT_FOLDER: ("under-a-file", "file"),
    OUT_FILE: ("under-a-file", "folder"),
}
#: Contents that a file's first bytes cannot betray: none today (every FILE content is sniffed).
NOT_SNIFFED: tuple[str, ...] = ("",)
#: Options that take text that is not a path (names, overrides, devices); numbers, choices and
#: flags are recognised by their action. A new text option goes here or gets a PathArg kind.
NOT_PATHS = {
    "--set",
    "--device",
    "--runtime",
    "--name",
    "--command",
    "--models",
    "--runtimes",
    "--size",
    "--video-size",
    "--person-height",
    "--model",
    "--host",
    "--token",
}

SUFFIX = {
    "checkpoint": ".pth",
    "yaml": ".yaml",
    "coco": ".json",
    "results": ".json",
    "json": ".json",
    "posetrack": ".json",
    "config or checkpoint": ".pth",
    "image": ".jpg",
    "video": ".mp4",
    "media": ".jpg",
}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for command, parser in PARSERS.items():
        for action in path_options(parser):
            for wrong in WRONG[action.type.kind]:
                if wrong == "wrong-content" and action.type.content in NOT_SNIFFED:
                    continue
                cases.append((command, option_name(action), wrong))
    return cases


CASES = _cases()


def _action(command: str, name: str) -> argparse.Action:
    return next(a for a in PARSERS[command]._actions if isinstance(a.type, PathArg) and option_name(a) == name)


def _installed_cases() -> set[tuple[str, str, str]]:
    """The cases run through the installed console script: the first of each command and kind
    of path option, the first of each wrong kind of path, and every case whose check decodes
    the file with OpenCV (its logging, which the command keeps quiet through the environment,
    is set up once per process: only a fresh one shows it)."""
    kinds: set[tuple[str, str]] = set()
    wrongs: set[str] = set()
    chosen = set()
    for command, option, wrong in CASES:
        arg = _action(command, option).type
        kind = arg.kind
        decodes = wrong == "wrong-content" and arg.content in ("image", "video", "media")
        if (command, kind) not in kinds or wrong not in wrongs or decodes:
            chosen.add((command, option, wrong))
            kinds.add((command, kind))
            wrongs.add(wrong)
    return chosen


INSTALLED = _installed_cases()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """Good-looking inputs (enough for the path check) and wrong ones, in one folder."""
    import cv2

    root = tmp_path_factory.mktemp("paths")
    image = np.full((24, 32, 3), 127, np.uint8)
    cv2.imwrite(str(root / "good.jpg"), image)
    writer = cv2.VideoWriter(str(root / "good.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (32, 24))
    for _ in range(3):
        writer.write(image)
    writer.release()
    (root / "good.pth").write_bytes(b"PK\x03\x04" + bytes(64))
    (root / "good.yaml").write_text("model: {depth: 18}\n")
    (root / "good.json").write_text('{"images": [], "annotations": []}')
    (root / "results.json").write_text("[]")
    for name in ("images", "posetrack", "full"):
        (root / name).mkdir()
    cv2.imwrite(str(root / "images" / "a.jpg"), image)
    (root / "posetrack" / "a.json").write_text('{"annotations": []}')
    (root / "full" / "notes.txt").write_text("neither images nor JSON\n")  # wrong content for a folder
    (root / "empty_dir").mkdir()
    (root / "a_file").write_text("a file, not a folder\n")
    (root / "notes.txt").write_text("not an image\n")
    for suffix in set(SUFFIX.values()):
        (root / f"empty{suffix}").write_bytes(b"")
        (root / f"garbage{suffix}").write_bytes(b"\x00\x01 garbage \xff\xfe" * 8)
        (root / f"locked{suffix}").write_bytes(b"PK\x03\x04" + bytes(64))
        (root / f"locked{suffix}").chmod(0)
    (root / "locked_dir").mkdir()
    cv2.imwrite(str(root / "locked_dir" / "a.jpg"), image)
    (root / "locked_dir").chmod(0)
    yield root
    (root / "locked_dir").chmod(0o755)


def _good(arg: PathArg, files: Path, cwd: Path, dest: str) -> str:
    if arg.kind == OUT_FOLDER:
        return str(cwd / f"out_{dest}")
    if arg.kind == OUT_FILE:
        return str(cwd / f"out_{dest}.bin")
    if arg.kind == FOLDER:
        return str(files / ("posetrack" if arg.content == "posetrack" else "images"))
    return str(
        files
        / {
            "yaml": "good.yaml",
            "coco": "good.json",
            "json": "good.json",
            "results": "results.json",
            "posetrack": "good.json",
            "image": "good.jpg",
            "video": "good.mp4",
            "media": "good.jpg",
        }.get(arg.content, "good.pth")
    )


def _wrong(arg: PathArg, wrong: str, files: Path) -> str:
    suffix = SUFFIX.get(arg.content, ".bin")
    return str(
        {
            "missing": files / f"nothere{suffix}",
            "folder": files / "images",
            "file": files / "a_file",
            "empty": files / ("empty_dir" if arg.kind == FOLDER else f"empty{suffix}"),
            "empty-folder": files / "empty_dir",
            "unreadable": files / ("locked_dir" if arg.kind == FOLDER else f"locked{suffix}"),
            "wrong-content": files / ("full" if arg.kind == FOLDER else f"garbage{suffix}"),
            "wrong-suffix": files / "notes.txt",
            "under-a-file": files / "a_file" / "out",
        }[wrong]
    )


def _argv(command: str, name: str, bad: str, files: Path, cwd: Path) -> list[str]:
    """The command's required arguments with good values, and option `name` with `bad`."""
    positionals: list[str] = []
    options: list[str] = []
    parser = PARSERS[command]
    # A required group (--checkpoint | --model) is met by its path option, unless one is the target.
    needed = [
        next(a for a in g._group_actions if isinstance(a.type, PathArg))
        for g in parser._mutually_exclusive_groups
        if g.required and not any(option_name(a) == name for a in g._group_actions)
    ]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        target = isinstance(action.type, PathArg) and option_name(action) == name
        # a path default (demo --config configs/...) may hold only in the repository's root
        path_default = (
            isinstance(action.type, PathArg)
            and isinstance(action.default, str)
            and action.default
            and not action.type.is_output
        )
        if not (target or action.required or path_default or action in needed):
            continue
        if not isinstance(action.type, PathArg):
            raise AssertionError(f"{command} {option_name(action)}: required, and the matrix has no good value for it")
        value = bad if target else _good(action.type, files, cwd, action.dest)
        if action.option_strings:
            options += [action.option_strings[0], value]
        else:
            positionals.append(value)
    return positionals + options


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if "locked_dir" not in p.parts)


@pytest.mark.parametrize(
    "command,option,wrong",
    CASES,
    ids=[" ".join(c) + (" installed" if c in INSTALLED else " in-process") for c in CASES],
)
def test_a_wrong_path_is_one_line_naming_option_and_path(command, option, wrong, files, tmp_path, capfd):
    if wrong == "unreadable" and AS_ROOT:
        pytest.skip("root reads any file")
    bad = _wrong(_action(command, option).type, wrong, files)
    before = _tree(files)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    argv = _argv(command, option, bad, files, cwd)
    if (command, option, wrong) in INSTALLED:
        r = simplepose(command, *argv, cwd=cwd, timeout=60)
    else:
        r = simplepose_in_process(capfd, command, *argv, cwd=cwd, timeout=60)
    line = assert_one_clear_error(r, command)
    assert f"{option} {bad}:" in line, line
    assert not list(cwd.iterdir()) and _tree(files) == before, "written before the error"


def test_the_matrix_covers_every_command_with_a_path():
    covered = {c for c, _, _ in CASES}
    with_paths = {c for c, p in PARSERS.items() if path_options(p)}
    assert covered == with_paths and len(covered) >= 11, sorted(covered)
    assert len({(c, o) for c, o, _ in CASES}) >= 30
    # The installed command meets every command, every kind of option of each, every wrong kind.
    assert {(c, _action(c, o).type.kind) for c, o, _ in INSTALLED} == {
        (c, _action(c, o).type.kind) for c, o, _ in CASES
    }
    assert {w for _, _, w in INSTALLED} == {w for _, _, w in CASES}


def _takes_text(action: argparse.Action) -> bool:
    if isinstance(
        action,
        (
            argparse._HelpAction,
            argparse._StoreConstAction,
            argparse._StoreTrueAction,
            argparse._StoreFalseAction,
            argparse._CountAction,
        ),
    ):
        return False
    return action.choices is None and action.type in (None, str)


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_is_a_path_or_says_why_not(command):
    """A text option is either a declared path (it gets the matrix) or named in NOT_PATHS."""
    unknown = [option_name(a) for a in PARSERS[command]._actions if _takes_text(a) and option_name(a) not in NOT_PATHS]
    assert not unknown, f"{command}: declare these as paths (type=PathArg) or add them to NOT_PATHS: {unknown}"


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_says_what_it_takes_and_its_default(command):
    formatter = HelpWithDefaults(prog="simplepose")
    for action in PARSERS[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        text = formatter._get_help_string(action)
        assert action.help and len(action.help) > 10, (command, option_name(action))
        flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreConstAction))
        required = action.required or (not action.option_strings and action.nargs not in ("?", "*"))
        assert flag or required or "default" in text, (command, option_name(action), text)
        assert "see above" not in text, (command, option_name(action))
