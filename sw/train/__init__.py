"""Training, evaluation and the results table of the dynamic-vision benchmarks."""
