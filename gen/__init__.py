# Ctrl-C while a `python -m` command imports: one line, exit 130 (sw/entry_guard.py).
from ipnet_mtj.sw.entry_guard import guard_imports as _guard_imports

_guard_imports()
