"""`gankit` / `python -m gankit`: one small module per subcommand, errors as one line."""

from __future__ import annotations

import argparse
import sys

from ..errors import GankitError
from . import evaluate, info, sample, train

SUBCOMMANDS = [train, sample, info, evaluate]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gankit", description="Train, resume, sample and inspect GANs.")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    subs = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.register(subs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except GankitError as e:
        if args.debug:
            raise
        print(f"gankit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gankit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
