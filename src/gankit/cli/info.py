"""gankit info RUN: what a run is."""

from __future__ import annotations


def register(subs) -> None:
    p = subs.add_parser("info", help="describe a run: model, data, loss, steps, parameters")
    p.add_argument("run", help="run directory")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..run import load

    description = load(args.run).describe()
    width = max(map(len, description))
    for key, value in description.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        print(f"{key:<{width}}  {value}")
    return 0
