"""Mescheder et al. 2018, Figs. 1–3: Dirac-GAN vector fields, trajectories and eigenvalues (`gan_jax.dirac`)."""
import math

from matplotlib.figure import Figure
import ml_collections
import numpy as np

from gan_jax import dirac
from gan_jax import plotting
from gan_jax.paper_figures import common

Data = common.Data


def default_config() -> ml_collections.ConfigDict:
  """The settings behind the published-looking figure."""
  d = ml_collections.ConfigDict()
  d.games = ("minimax", "non_saturating", "wgan", "wgan_gp", "r1")
  d.init = (1.0, 1.0)
  d.num_steps = 300
  d.learning_rate = 0.1
  d.grid_size = 15                   # quiver arrows per axis on [−2, 2]².
  d.gammas = tuple(np.round(np.linspace(0.0, 2.0, 21), 4).tolist())
  return d


def testing_config() -> ml_collections.ConfigDict:
  """`default_config` with a coarser grid and fewer γ's."""
  d = default_config()
  d.grid_size = 7
  d.gammas = (0.0, 0.5, 1.0, 2.0)
  return d


def compute(cfg: ml_collections.ConfigDict) -> Data:
  """Dirac-GAN vector fields, trajectories and Jacobian eigenvalues (Mescheder et al. 2018), via `gan_jax.dirac`.

  Args:
    cfg: `default_config()`.

  Returns:
    grid (k,); per game: field_<game> (k, k, 2), path_<game>_<mode> (T + 1, 2), norm_<game>_<mode> (T + 1,),
    eig_<game> (2,) complex (not for wgan_gp); gammas, r1_eig_jacobian (G, 2) and r1_eig_closed_form (G, 2).

  Raises:
    ValueError: for an unknown game or invalid field.
  """
  for game in cfg.games:
    dirac.get_game(game)
  common.check_positive_int(cfg, "dirac_gan", "num_steps", "grid_size")
  common.check_positive_float(cfg, "dirac_gan", "learning_rate")
  gammas = tuple(cfg.gammas)
  if not all(isinstance(gm, (int, float)) and math.isfinite(gm) and gm >= 0 for gm in gammas):
    common.fail("dirac_gan.gammas", gammas, "a tuple of finite numbers >= 0")
  grid = np.linspace(-2.0, 2.0, cfg.grid_size)
  data: Data = {"grid": grid, "games": tuple(cfg.games), "init": np.asarray(cfg.init, np.float64)}
  for name in cfg.games:
    game = dirac.get_game(name)
    data[f"field_{name}"] = np.asarray(dirac.vector_field_on_grid(game, grid, grid))
    for mode in dirac.MODES:
      path = np.asarray(dirac.simulate(game, cfg.init, num_steps=cfg.num_steps, learning_rate=cfg.learning_rate,
                                       mode=mode))
      data[f"path_{name}_{mode}"] = path
      data[f"norm_{name}_{mode}"] = np.linalg.norm(path, axis=1)
    if game.objective != "wgan_gp":
      data[f"eig_{name}"] = dirac.equilibrium_eigenvalues(game)
  data["gammas"] = np.asarray(gammas, np.float64)
  data["r1_eig_jacobian"] = np.stack(
      [dirac.equilibrium_eigenvalues(dirac.DiracGame("minimax", r1_weight=float(gm))) for gm in gammas])
  data["r1_eig_closed_form"] = np.stack([dirac.r1_eigenvalues(gm) for gm in gammas])
  return data


def _dirac_title(name: str) -> str:
  game = dirac.get_game(name)
  return {"minimax": "minimax GAN", "non_saturating": "non-saturating GAN",
          "wgan": f"WGAN (|ψ| ≤ {game.weight_clip:g})", "wgan_gp": f"WGAN-GP (λ = {game.gradient_penalty_weight:g})",
          "r1": f"GAN + R1 (γ = {game.r1_weight:g})"}.get(name, name)


def figure(data: Data) -> Figure:
  """One panel per game (vector field + simultaneous and alternating trajectories), then the R1 eigenvalues."""
  games = data["games"]
  ncols = 3
  nrows = math.ceil((len(games) + 1) / ncols)
  fig, axes = plotting.new_figure(ncols=ncols, nrows=nrows, panel_size=(3.4, 3.2))
  grid = data["grid"]
  tt, pp = np.meshgrid(grid, grid)
  for ax, name in zip(axes, games):
    field = data[f"field_{name}"]
    # Unit arrows: the field's direction; its size (→ 0 at the equilibrium) would hide the rotation.
    length = np.maximum(np.linalg.norm(field, axis=-1, keepdims=True), 1e-12)
    ax.quiver(tt, pp, field[..., 0] / length[..., 0], field[..., 1] / length[..., 0], color="0.6", angles="xy",
              width=0.004, scale=22)
    for mode, (colour, style, marker) in zip(dirac.MODES, plotting.SERIES_STYLES):
      path = data[f"path_{name}_{mode}"]
      ax.plot(path[:, 0], path[:, 1], color=colour, linestyle=style, marker=marker, markevery=max(1, len(path) // 8),
              markersize=3, linewidth=1.0, label=f"{mode} GD")
    ax.plot([0.0], [0.0], marker="*", color="#d62728", markersize=9, linestyle="none", label="equilibrium")
    ax.set_xlim(grid[0] - 0.3, grid[-1] + 0.3)
    ax.set_ylim(grid[0] - 0.3, grid[-1] + 0.3)
    plotting.style_axes(ax, "θ (generator's atom)", "ψ (discriminator slope)", _dirac_title(name),
                        legend_loc=None)
  fig.legend(handles=axes[0].get_legend_handles_labels()[0], loc="outside lower center", ncols=3,
             fontsize=plotting.FONT_SIZE - 1, frameon=False)
  ax = axes[len(games)]
  gammas = data["gammas"]
  closed = data["r1_eig_closed_form"]
  jac = data["r1_eig_jacobian"]
  styles = plotting.SERIES_STYLES
  ax.plot(gammas, closed.real.max(axis=1), color=styles[0][0], linestyle=styles[0][1], label="max Re λ (closed form)")
  ax.plot(gammas, np.abs(closed.imag).max(axis=1), color=styles[1][0], linestyle=styles[1][1],
          label="|Im λ| (closed form)")
  ax.plot(gammas, jac.real.max(axis=1), linestyle="none", marker="o", color=styles[0][0], markerfacecolor="white",
          label="max Re λ (jacfwd)")
  ax.plot(gammas, np.abs(jac.imag).max(axis=1), linestyle="none", marker="s", color=styles[1][0],
          markerfacecolor="white", label="|Im λ| (jacfwd)")
  ax.axvline(1.0, color="0.5", linestyle=":", linewidth=0.8)
  plotting.style_axes(ax, "R1 weight γ", "eigenvalue of ∂v at (0, 0) (1/time)",
                      "R1: λ = −γ/2 ± √(γ²/4 − 1/4)", legend_loc="lower left")
  for extra in axes[len(games) + 1:]:
    extra.set_visible(False)
  fig.suptitle("Mescheder et al. 2018: the Dirac-GAN", fontsize=plotting.FONT_SIZE + 1)
  return fig
