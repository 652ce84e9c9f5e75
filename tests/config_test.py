"""Tests of gan_jax/config.py: the shared training defaults and the one config-file loader."""
import os

import ml_collections
import pytest

from gan_jax import config as config_lib
from gan_jax import nash

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_load_config_file_calls_get_config_with_the_argument(tmp_path):
  path = tmp_path / "c.py"
  path.write_text("import ml_collections\n"
                  "def get_config(arg='none'):\n"
                  "  return ml_collections.ConfigDict({'arg': arg})\n"
                  "def get_sweep(arg='none'):\n"
                  "  return ('sweep', arg)\n")
  assert config_lib.load_config_file(str(path)).arg == "none"  # no ':' → no argument, as config_flags does
  assert config_lib.load_config_file(f"{path}:small,runlocal").arg == "small,runlocal"
  assert config_lib.load_config_file(f"{path}:a:b").arg == "a:b"  # split at the first ':' only
  assert config_lib.load_config_file(f"{path}:x", "get_sweep") == ("sweep", "x")


def test_load_config_file_runs_the_file_afresh(tmp_path):
  path = tmp_path / "c.py"
  path.write_text("import ml_collections\ndef get_config():\n  return ml_collections.ConfigDict({'v': 1})\n")
  first = config_lib.load_config_file(str(path))
  first.v = 2
  assert config_lib.load_config_file(str(path)).v == 1


def test_load_config_file_loads_the_repository_configs():
  c = config_lib.load_config_file(os.path.join(ROOT, "configs", "testing.py"))
  assert isinstance(c, ml_collections.ConfigDict) and c.num_steps == config_lib.testing_config().num_steps
  c = config_lib.load_config_file(os.path.join(ROOT, "configs", "sweeps", "objectives.py") + ":runlocal")
  assert c.num_steps == 20
  # configs/nash.py is the library's default (an installed package has it without the checkout).
  assert config_lib.load_config_file(os.path.join(ROOT, "configs", "nash.py")) == nash.default_config()


@pytest.mark.parametrize("text, function, message", [
    (None, "get_config", r"config file '.*missing.py' does not exist$"),
    ("X = 1\n", "get_config", r"config file .*c.py defines no get_config\(\)$"),
    ("def get_config():\n  return 1\n", "get_sweep", r"config file .*c.py defines no get_sweep\(\)$"),
])
def test_load_config_file_errors_are_one_line(tmp_path, text, function, message):
  name = "missing.py" if text is None else "c.py"
  if text is not None:
    (tmp_path / name).write_text(text)
  with pytest.raises(ValueError, match=message) as e:
    config_lib.load_config_file(str(tmp_path / name) + ":arg", function)
  assert "\n" not in str(e.value)


def test_load_config_file_rejects_a_file_that_is_not_python(tmp_path):
  (tmp_path / "c.json").write_text("{}")
  with pytest.raises(ValueError, match="is not a Python file"):
    config_lib.load_config_file(str(tmp_path / "c.json"))


def test_testing_config_is_a_base_config():
  base, testing = config_lib.base_config(), config_lib.testing_config()
  assert set(testing.keys()) == set(base.keys())
