"""The errors every stage raises for input it refuses: :class:`ConfigError` (a file) and
:class:`UsageError` (a command-line argument, a missing tool).

They live apart from the schema (:mod:`sw.config`) and the command line (:mod:`sw.cli`) so
that the arithmetic (:mod:`sw.fixed`) and the job runner (:mod:`sw.jobs`), which those import,
raise them without importing them back. ``ipnet_mtj.sw.config.ConfigError`` and
``ipnet_mtj.sw.cli.UsageError`` are the same classes.
"""

__all__ = ["ConfigError", "UsageError"]


class ConfigError(Exception):
    """A configuration that cannot be built. The message is one line:
    ``<file>: <key>: <reason>``."""


class UsageError(Exception):
    """A bad command-line argument or a missing tool; the message is one line."""
