"""`simplepose <command> ...`: parse the command line, then call the library.

Each command lives in `simplepose.commands.<name>` with `add_parser(subparsers)` and
`run(args) -> int`; this file only lists them, so `simplepose --help` stays cheap (the
commands import torch and friends lazily).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = (
    "synth",
    "train",
    "eval",
    "predict",
    "track",
    "track-eval",
    "info",
    "demo",
    "release",
    "export",
    "bench",
    "models",
    "serve",
)


class HelpWithDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it says it already or has none to say
    (a flag, a required option, an option whose absence the help explains)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or default is argparse.SUPPRESS or default in ([], "")
        if "default" in text or unset or action.required:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simplepose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"simplepose {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"simplepose.commands.{name.replace('-', '_')}").add_parser(sub)
    for command in sub.choices.values():
        command.formatter_class = HelpWithDefaults
    return parser


def package_version() -> str:
    """The version being run (`simplepose.__version__`): pyproject.toml's, via core.version."""
    from .core.version import package_version as version

    return version()


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, with an unknown option reported by the (sub)command it was given
    to: `simplepose predict --chekpoint x` prints predict's usage and the nearest options, not
    the top level's usage (argparse collects a subcommand's unknown options at the top)."""
    from .commands.paths import command_parsers
    from .core.suggest import did_you_mean

    args, extra = parser.parse_known_args(argv)
    given = list(sys.argv[1:] if argv is None else argv)
    if extra and extra[0] in given[: given.index(args.command)]:  # `simplepose --bogus predict ...`
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        command = command_parsers(parser)[args.command]
        for action in command._actions:  # a nested command (`models download`): its own parser
            if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None):
                command = action.choices[getattr(args, action.dest)]
        flags = [s for a in command._actions for s in a.option_strings]
        unknown = next((e for e in extra if e.startswith("-")), extra[0])
        hint = did_you_mean(unknown.split("=")[0], flags) if unknown.startswith("-") else ""
        command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    return args


def main(argv: list[str] | None = None) -> int:
    from .commands.paths import check_paths, command_parsers, name_option
    from .core.interrupts import describe, exit_status, raise_on_signals

    raise_on_signals()  # Ctrl-C and `kill` take one path: a KeyboardInterrupt (Interrupted)
    parser = build_parser()
    args = parse_command_line(parser, argv)
    command = command_parsers(parser)[args.command]
    # OpenCV logs a warning line for every unreadable image before we raise our own one-line
    # error; keep its errors, drop the duplicate warnings (a user's setting wins).
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    # FFmpeg (under OpenCV's video reading) logs its own line for a damaged video ("moov atom
    # not found") before the command's one line naming the file; keep it quiet likewise.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        # Every path option as its kind says (a file, a folder, an output ...), before any work
        # and before anything is created; one line naming the option and the path.
        check_paths(command, args)
        return int(args.run(args) or 0)
    except BrokenPipeError:
        # `simplepose info --table | head`: the reader left; nothing to say, nothing went wrong.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, ValueError) as e:
        # User errors (bad file, bad field) get one clear line, not a traceback.
        print(f"simplepose {args.command}: error: {name_option(command, args, str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        # One line saying what was done and what is on disk (the command's own words), exit
        # 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process a signal ended.
        print(f"simplepose {args.command}: {describe(e)}", file=sys.stderr)
        return exit_status(e)


if __name__ == "__main__":
    sys.exit(main())
