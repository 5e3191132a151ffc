"""What every command-line entry point shares: one error line, non-zero exit, no traceback."""

from __future__ import annotations

import sys

from .config import ConfigError

__all__ = ["UsageError", "run_cli"]


class UsageError(Exception):
    """A bad command-line argument or a missing tool; the message is one line."""


def run_cli(main, argv=None):
    """Run ``main(argv)``; turn expected failures into ``error: ...`` and exit code 2."""
    try:
        code = main(sys.argv[1:] if argv is None else argv)
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code or 0)
