"""``stratus version``: print the version of the controller."""

from stratus import __version__


def register(sub) -> None:
    parser = sub.add_parser("version", help="print the Stratus version")
    parser.set_defaults(func=run)


def run(args) -> int:
    print(__version__)
    return 0
