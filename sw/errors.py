"""The error every stage raises for input it refuses: :class:`ConfigError`.

It lives apart from the schema (:mod:`sw.config`) so that the arithmetic (:mod:`sw.fixed`),
which the schema calls to check a design's widths, raises it without importing the schema.
``ipnet_mtj.sw.config.ConfigError`` is the same class.
"""

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """A configuration that cannot be built. The message is one line:
    ``<file>: <key>: <reason>``."""
