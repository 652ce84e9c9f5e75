"""Shared pytest set-up: JAX on CPU with 4 fake devices (multi-device code is tested on them), hypothesis profile."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# A persistent compilation cache shared by the xdist workers and the subprocesses tests start: the same programs
# (tiny configs, resumed runs) compile once per session instead of once per test.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

import jax  # noqa: E402
from hypothesis import settings  # noqa: E402

# Must precede the first use of a device; tests that need one device simply use jax.devices()[0].
jax.config.update("jax_num_cpu_devices", 4)

# Derandomized: the same examples on every run, so a suite result depends on the code alone (a property that fails
# fails every time). `HYPOTHESIS_PROFILE=explore` searches afresh with more examples, to look for new failures.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("explore", max_examples=400, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
