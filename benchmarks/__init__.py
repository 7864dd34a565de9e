"""Benchmarks: zeebe-celery side by side with pyzeebe and a raw gRPC loop, on the project's engine and Redis.

``python -m benchmarks --quick`` (at most 5 minutes) or ``--full`` (at most 20) writes
``benchmarks/results/{quick,full}.{json,md,png}``. Figures, not pass/fail: the targets are printed as
met or missed next to the numbers they compare.
"""
