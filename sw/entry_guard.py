"""Ctrl-C while a command is still importing (torch, amaranth, numpy: a second or more) gives
``error: interrupted`` and exit code 130, like Ctrl-C later, never a traceback.

``python -m ipnet_mtj.<package>.<module>`` imports the module's own imports before
:func:`sw.cli.run_cli` is active, which is what turns KeyboardInterrupt into one line. The
subpackages' ``__init__`` (which Python runs first) call :func:`guard_imports`: when the
interpreter is locating a ``-m`` module (``sys.argv[0] == "-m"``, as Python sets it while it
imports the module's packages) it installs a SIGINT handler that writes the line and exits
130 at once (nothing has been written yet; there is nothing to clean up). ``run_cli`` puts
Python's own handler back as it starts (:func:`release`), so from then on Ctrl-C raises
KeyboardInterrupt as usual and the command's ``finally`` blocks run. Importing the package in
any other way (pytest, a notebook, the ``ipnet`` console script, whose ``entry`` imports its
command inside ``run_cli``) changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys

__all__ = ["guard_imports", "release"]


def _interrupted(signum, frame):
    try:
        sys.stderr.write("error: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(130)


def guard_imports():
    """Install the import-time SIGINT handler when a ``-m`` command is being started."""
    if sys.argv[:1] != ["-m"]:
        return
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _interrupted)
    except ValueError:          # not the main thread: not a command being started
        pass


def release():
    """Python's own SIGINT handler again (KeyboardInterrupt), if the guard is installed."""
    try:
        if signal.getsignal(signal.SIGINT) is _interrupted:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:
        pass
