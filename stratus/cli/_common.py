"""Options every controller subcommand shares: ``--config FILE``."""

from __future__ import annotations

from stratus.config import Settings, load_settings


def add_config_option(parser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="settings file (YAML); default $STRATUS_CONFIG or /etc/stratus/stratus.yaml",
    )


def settings_from(args) -> Settings:
    return load_settings(getattr(args, "config", None))
