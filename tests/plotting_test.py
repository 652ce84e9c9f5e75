"""Tests of gan_jax/plotting.py: the house style, saving, and the demo's divergence-trajectory figure."""
import subprocess
import sys

from matplotlib.backends.backend_agg import FigureCanvasAgg
import numpy as np

from gan_jax import plotting


def test_new_figure_is_headless_and_row_major():
  fig, axes = plotting.new_figure(ncols=3, nrows=2, panel_size=(2.0, 1.5))
  assert isinstance(fig.canvas, FigureCanvasAgg)
  assert len(axes) == 6 and list(fig.get_size_inches()) == [6.0, 3.0]
  assert axes[1].get_subplotspec().colspan.start == 1 and axes[3].get_subplotspec().rowspan.start == 1


def test_style_axes_labels_and_legend():
  fig, (ax, bare) = plotting.new_figure(ncols=2)
  ax.plot([0, 1], [0, 1], label="series")
  plotting.style_axes(ax, "x", "y", title="t")
  plotting.style_axes(bare, "x", "y", legend_loc=None)
  assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("x", "y", "t")
  assert ax.get_legend() is not None and bare.get_legend() is None


def test_series_styles_differ_without_colour():
  assert len({(str(s), m) for _, s, m in plotting.SERIES_STYLES}) == len(plotting.SERIES_STYLES)


def test_save_writes_each_format(tmp_path):
  fig, (ax,) = plotting.new_figure()
  ax.plot([0, 1], [1, 0])
  paths = plotting.save(fig, str(tmp_path / "sub" / "fig"))
  assert paths == [str(tmp_path / "sub" / "fig.png"), str(tmp_path / "sub" / "fig.pdf")]
  assert (tmp_path / "sub" / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  assert (tmp_path / "sub" / "fig.pdf").read_bytes()[:5] == b"%PDF-"
  assert plotting.save(fig, str(tmp_path / "only"), formats=("png",)) == [str(tmp_path / "only.png")]


def test_divergence_trajectories_figure_plots_the_mean_and_range_over_seeds():
  rows = {"minimax": [{"step": s, "seed": seed, "js": v, "w1": 1.0 + v}
                      for seed, vals in ((0, (0.6, 0.2)), (1, (0.4, 0.1))) for s, v in zip((0, 10), vals)],
          "wasserstein": [{"step": 0, "seed": 0, "js": 0.5}, {"step": 10, "seed": 0, "js": 0.3}]}
  fig = plotting.divergence_trajectories_figure(rows, metrics=("js", "kl_pg", "w1"))
  js_ax, w1_ax = fig.axes  # kl_pg was logged by no run: no panel
  lines = [l for l in js_ax.get_lines() if not l.get_label().startswith("_")]
  assert [l.get_label() for l in lines] == ["minimax (2 seeds)", "wasserstein (1 seeds)"]
  np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.15])
  np.testing.assert_allclose(lines[1].get_ydata(), [0.5, 0.3])
  assert js_ax.get_yscale() == "linear" and w1_ax.get_yscale() == "log"
  assert js_ax.get_ylabel() == plotting.DIVERGENCE_LABELS["js"]
  # w1: the wasserstein rows never logged it, so only minimax is drawn.
  assert len([l for l in w1_ax.get_lines() if not l.get_label().startswith("_")]) == 1


def test_plotting_imports_nothing_above_it():
  code = ("import sys, gan_jax.plotting; "
          "print(sorted(m for m in sys.modules if m.startswith('gan_jax.')))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
  loaded = set(eval(out))  # pylint: disable=eval-used
  for above in ("compare", "nash", "sweep", "summary", "train", "engine", "paper_figures", "evaluation"):
    assert f"gan_jax.{above}" not in loaded, (above, sorted(loaded))
