"""What every command-line entry point shares: one error line, non-zero exit, no traceback;
result files written atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .config import ConfigError

__all__ = ["UsageError", "run_cli", "write_atomically"]


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


def write_atomically(path, write):
    """Create ``path`` whole or not at all: ``write(tmp)`` fills a temporary file beside it,
    which then replaces ``path``; on any failure the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
