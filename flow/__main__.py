"""``python -m ipnet_mtj.flow`` is ``ipnet``."""

from .cli import entry

entry()
