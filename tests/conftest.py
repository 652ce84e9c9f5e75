"""Shared pytest set-up: float32 JAX on CPU, a hypothesis profile sized for 2 cores."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=40, deadline=None)
settings.load_profile("ci")
