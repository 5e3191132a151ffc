"""The flow's front door: the ``ipnet`` command and its stages (the top of the pipeline, above
sw, hw, gen and sim; nothing below imports it)."""

# Ctrl-C while a `python -m` command imports: one line, exit 130 (sw/entry_guard.py).
from ipnet_mtj.sw.entry_guard import guard_imports as _guard_imports

_guard_imports()
