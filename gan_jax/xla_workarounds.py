"""Workarounds for known XLA miscompiles, applied when `gan_jax` is imported (before JAX starts its backends).

XLA:CPU in jaxlib 0.10.2 computes wrong values in its YNNPACK library fusions of kinds "eltwise" and "reduce":
the demo's flow generator feeding the MLP discriminator in one jitted program, D(G(z)) for 4,096 latents, came out
up to 0.43 off a float64 reference (eager, or D on the materialised samples, agree to 1e-6; at ≤ 1,024 latents the
fused program was right too). That program is the evaluation's (`evaluation.evaluate`): every estimate made from
the training discriminator's outputs (`js_lower_bound`, the KL plug-ins, `w1_critic`, `d_vs_dstar`) was off. Kept
to the fusion kinds measured correct ("dot", "individual_dot", "individual_convolution"), the same program
matches the reference exactly.

The flag is appended to `XLA_FLAGS` only for the affected jaxlib versions and only when the user has not set it;
`GAN_JAX_KEEP_XLA_FLAGS=1` leaves `XLA_FLAGS` alone. XLA reads `XLA_FLAGS` when a backend starts, so this takes
effect when `gan_jax` is imported before the process's first JAX computation (every entry point and test does).
"""
from importlib import metadata
import os
from typing import MutableMapping

YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
SAFE_YNN_FUSIONS = "dot,individual_dot,individual_convolution"
AFFECTED_JAXLIB = frozenset({"0.10.2"})
OPT_OUT = "GAN_JAX_KEEP_XLA_FLAGS"


def jaxlib_version() -> str:
  """The installed jaxlib's version ('' when it is not installed)."""
  try:
    return metadata.version("jaxlib")
  except metadata.PackageNotFoundError:
    return ""


def apply(environ: MutableMapping[str, str] = os.environ, version: str | None = None) -> bool:
  """Adds the YNN fusion restriction to `environ['XLA_FLAGS']` where it is needed.

  Args:
    environ: the environment to edit (the process's by default).
    version: the jaxlib version; None = the installed one.

  Returns:
    Whether the flag was added (False: another jaxlib, the user set the flag, or the opt-out is set).
  """
  version = jaxlib_version() if version is None else version
  flags = environ.get("XLA_FLAGS", "")
  if version not in AFFECTED_JAXLIB or environ.get(OPT_OUT) == "1" or YNN_FUSION_FLAG in flags:
    return False
  environ["XLA_FLAGS"] = f"{flags} {YNN_FUSION_FLAG}={SAFE_YNN_FUSIONS}".strip()
  return True
