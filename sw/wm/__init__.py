"""Working-memory tasks (n-back, free recall, interference) for IPNet and digital memories:
the experiment schema, runs, metrics and the report of ``make wm``."""
