"""What every command-line entry point shares: one error line, non-zero exit, no traceback;
result files written atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import ConfigError, UsageError
from .entry_guard import release

__all__ = ["UsageError", "run_cli", "write_atomically", "check_output_dir", "comma_choices"]


def run_cli(main, argv=None):
    """Run ``main(argv)``; turn expected failures into ``error: ...`` and exit code 2.

    An operating-system error that no check caught first (a file name too long, a read-only
    or full disk) is one line too, naming the file: ``error: <file>: <reason>``. Ctrl-C is
    ``error: interrupted``, exit code 130, also while the command was still importing
    (:mod:`sw.entry_guard`)."""
    release()
    try:
        code = main(sys.argv[1:] if argv is None else argv)
    except (ConfigError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except BrokenPipeError:         # the reader went away (`ipnet ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code or 0)


def write_atomically(path, write):
    """Create ``path`` whole or not at all: ``write(tmp)`` fills a temporary file beside it,
    which then replaces ``path``; on any failure the temporary file is removed. The file gets
    the permissions of a file created by ``open`` (0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_dir(path, option):
    """Refuse, before any long work, an output folder that cannot be written.

    ``path`` must be a folder, or not exist yet under a folder, that can be written in.

    Parameters
    ----------
    path : str or Path
    option : str
        The command-line option that named it (``--out``), for the message.

    Raises
    ------
    UsageError
        One line naming the option, the path and what is wrong.
    """
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    where = f"{path}" if probe == path else f"{path}: {probe}"
    if not probe.is_dir():
        kind = "a file" if probe.is_file() else "a device, pipe or socket"
        raise UsageError(f"{option}: {where} is {kind}, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {where} is not writable")


def comma_choices(text, option, choices, noun):
    """The names of a comma-separated option value, each one of ``choices``; else one line,
    ``<option>: unknown <noun> 'x' (choose from a, b)``."""
    names = [name for name in text.split(",") if name]
    for name in names:
        if name not in choices:
            raise UsageError(f"{option}: unknown {noun} {name!r} (choose from {', '.join(choices)})")
    return names
