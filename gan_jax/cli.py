"""Command-line parsing for the entry points: a bad flag is one `error:` line and exit status 2, never a traceback.

absl's own parsing of `--config=FILE` and `--config.FIELD=VALUE` (ml_collections' `config_flags`) raises tracebacks
for a missing config file or an override of a field the config does not have. `parse_flags` is the
`flags_parser` the entry points give `absl.app.run`: it parses as absl does and turns those failures into one line
naming the flag and what is allowed.
"""
from collections.abc import Sequence
import os
import sys
import tempfile
from typing import NoReturn

from absl import flags

from gan_jax import config as config_lib
from gan_jax import parallel


def usage_error(message: str) -> NoReturn:
  """Prints `error: message` on one line to stderr and exits with status 2 (a usage error)."""
  print("error: " + " ".join(str(message).split()), file=sys.stderr)
  sys.exit(2)


def _flag_value(argv: Sequence[str], name: str) -> str | None:
  for arg in argv:
    if arg.startswith(f"--{name}="):
      return arg.split("=", 1)[1]
  return None


def unknown_override(argv: Sequence[str], config_flag: str = "config") -> str | None:
  """The first `--config.FIELD=VALUE` whose FIELD the config file does not have, as an error message (or None)."""
  spec = _flag_value(argv, config_flag)
  if spec is None:
    return None
  try:
    config = config_lib.load_config_file(spec)
  except ValueError as e:
    return f"--{config_flag}={spec}: {e}"
  for arg in argv:
    if not arg.startswith(f"--{config_flag}."):
      continue
    dotted = arg[len(config_flag) + 3:].split("=", 1)[0]
    node, path = config, []
    for part in dotted.split("."):
      fields = list(node.keys()) if hasattr(node, "keys") else []
      if part not in fields:
        where = ".".join([config_flag, *path]) if path else config_flag
        allowed = ", ".join(sorted(fields)) or "none (not a sub-config)"
        return f"{arg}: {where} has no field {part!r}; its fields: {allowed}"
      node, path = node[part], [*path, part]
  return None


def workdir_problem(path: str) -> str | None:
  """Why `path` cannot be (or become) a writable directory, or None; nothing is left behind."""
  existing = os.path.abspath(path)
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    return f"{existing!r} is a file, not a directory"
  try:  # os.access says yes to root everywhere; a real attempt does not
    os.rmdir(tempfile.mkdtemp(dir=existing))
  except OSError as e:
    return f"cannot create directories in {existing!r} ({e.strerror})"
  return None


def parse_flags(argv: Sequence[str]) -> list[str]:
  """`absl.app.run`'s `flags_parser`: absl's parsing, with its failures turned into one `error:` line (exit 2).

  A `--workdir` that cannot be created or written is refused here too, before anything runs. The config's
  `parallel.cpu_devices` is applied here, before anything starts JAX (`parallel.use_cpu_devices`).
  """
  spec = _flag_value(argv, "config")
  if spec is not None and not os.path.isfile(spec.split(":", 1)[0]):
    # config_flags would report it only when main first reads the config, as a traceback.
    usage_error(f"--config={spec}: config file {spec.split(':', 1)[0]!r} does not exist")
  try:
    rest = flags.FLAGS(list(argv))
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
    usage_error(unknown_override(argv) or e)
  workdir = flags.FLAGS["workdir"].value if "workdir" in flags.FLAGS else None
  if workdir and (problem := workdir_problem(workdir)):
    usage_error(f"--workdir={workdir}: {problem}")
  config = flags.FLAGS["config"].value if "config" in flags.FLAGS else None
  if config is not None:
    try:
      parallel.use_cpu_devices(config)  # before anything starts JAX's backends
    except ValueError as e:
      usage_error(e)
  return rest
