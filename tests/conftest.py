"""Shared pytest set-up: JAX on CPU with 4 fake devices (multi-device code is tested on them), hypothesis profile."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
from hypothesis import settings  # noqa: E402

# Must precede the first use of a device; tests that need one device simply use jax.devices()[0].
jax.config.update("jax_num_cpu_devices", 4)

settings.register_profile("ci", max_examples=40, deadline=None)
settings.load_profile("ci")
