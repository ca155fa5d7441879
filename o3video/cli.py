"""`o3video` command line. Each sub-command lives in `o3video/commands/<name>.py` (dashes in the command name become underscores) and exposes
`HELP` (one line), `add_arguments(parser)` and `run(args) -> int`. Command modules import their
heavy dependencies inside `run`, so `o3video --help` stays fast.

Errors the user can fix (`o3video.errors.user_message`) are shown here, and only here, as one line
`o3video <command>: <message>` with exit code 2; commands raise them rather than print them. Ctrl-C is
one line too, `o3video <command>: interrupted; <what was kept>`, with exit code 130. Any other exception is
a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

# Order is the order `o3video --help` lists them in.
COMMANDS = ["score", "frames", "frames-cache", "synth", "tiny-model", "perception-base", "infer", "eval", "build",
            "train", "export", "demo", "ablate", "app"]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors (an unknown option, a value of the wrong type, a choice not offered) are
    one line, `o3video <command>: error: <message>`, with exit code 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="o3video",
        description="Grounded video reasoning: every claim cites when (a timestamp) and where (a box).",
    )
    from o3video import __version__

    parser.add_argument("--version", action="version", version=f"o3video {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"o3video.commands.{name.replace('-', '_')}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def command_name(args: argparse.Namespace) -> str:
    """`o3video train sft`, `o3video eval vstar`, `o3video score`: the command as typed."""
    words = [args.command, getattr(args, "stage", None), getattr(args, "benchmark", None)]
    return " ".join(["o3video", *(w for w in words if w)])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt as interrupt:
        from o3video.errors import INTERRUPTED_EXIT

        kept = str(interrupt) or "finished work is kept; the same command resumes it"
        print(f"{command_name(args)}: interrupted; {kept}", file=sys.stderr)
        return INTERRUPTED_EXIT
    except Exception as error:
        from o3video.errors import user_message

        message = user_message(error)
        if message is None:
            raise
        print(f"{command_name(args)}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
