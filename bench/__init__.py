"""Benchmarks of openclaw-board against the tools operators would otherwise pick.

    python -m bench [--quick] [--json PATH] [--only SECTION ...] [--runs N]

Not installed with the wheel (pyproject's package find includes only openclaw_board*); run
it from a checkout. See bench/RESULTS.md for a full run and what the figures mean.
"""
