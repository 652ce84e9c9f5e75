"""Benchmarks of gan-jax against a PyTorch reference (`python -m bench`, `make bench`); see bench/__main__.py."""
from bench.runner import PARTS
from bench.runner import run

__all__ = ["PARTS", "run"]
