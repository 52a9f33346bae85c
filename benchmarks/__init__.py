"""Benchmark suite: trio_binance against other Python Binance stream clients.

Run ``python -m benchmarks.run`` (or ``--quick``); see ``benchmarks/README.md``.
"""
