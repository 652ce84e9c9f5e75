"""Tests of sweep aggregation: per-member statistics, the tidy results table, and `summarize` on a hand-written
sweep directory whose means, stds and ranking are known."""
import csv
import json
import os

import numpy as np
import pytest
from pyarrow import parquet as pq

from gan_jax import summary


# ------------------------------------------------------------------------------------- per-member statistics
# (`stats.seed_statistics` and `stats.bootstrap_ci` themselves are tested in stats_test.py.)


def test_member_statistics_final_and_best():
  # seed 0: js 0.5, 0.2, 0.3; seed 1: 0.6, 0.4, 0.1 at steps 0, 5, 10.
  rows = [{"step": s, "seed": seed, "js": v}
          for seed, vals in ((0, (0.5, 0.2, 0.3)), (1, (0.6, 0.4, 0.1))) for s, v in zip((0, 5, 10), vals)]
  out = {(r["metric"], r["kind"]): r for r in summary.member_statistics(rows, ["js", "w1"])}
  assert set(out) == {("js", "final"), ("js", "best")}
  assert out[("js", "final")]["step"] == 10
  assert out[("js", "final")]["mean"] == pytest.approx(0.2)
  assert out[("js", "final")]["std"] == pytest.approx(np.std([0.3, 0.1], ddof=1))
  assert out[("js", "best")]["mean"] == pytest.approx(0.15)  # min per seed: 0.2 and 0.1


@pytest.mark.parametrize("metric", ["js_lower_bound", "tv_lower_bound_a", "w1_critic"])
def test_discriminator_estimates_have_a_final_value_but_no_best(metric):
  # The untrained D of step 0 says ~0 and a trained one more: the lowest value is no "best" of the generator.
  rows = [{"step": s, "seed": seed, metric: v, "js": 0.3}
          for seed, vals in ((0, (0.01, 0.2, 0.3)), (1, (0.02, 0.4, 0.1))) for s, v in zip((0, 5, 10), vals)]
  out = {(r["metric"], r["kind"]): r for r in summary.member_statistics(rows, [metric, "js"])}
  assert out[(metric, "final")]["mean"] == pytest.approx(0.2) and out[(metric, "final")]["n"] == 2
  assert out[(metric, "best")]["n"] == 0 and np.isnan(out[(metric, "best")]["mean"])
  assert out[("js", "best")]["mean"] == pytest.approx(0.3)  # a divergence keeps its best
  assert not summary.has_best(metric) and summary.has_best("js") and summary.has_best("fcd_ab")


# ------------------------------------------------------------------------------------ a hand-written sweep directory


def _write_member(workdir, mid, overrides, target, js_by_seed, status="done", extra_config=None):
  path = summary.member_dir(workdir, mid)
  os.makedirs(path)
  config = {"target": target, "n_critic": 1, **(extra_config or {})}
  with open(os.path.join(path, summary.MEMBER_FILE), "w") as f:
    json.dump({"id": mid, "overrides": overrides, "config": config}, f)
  with open(os.path.join(path, "metrics.jsonl"), "w") as f:
    for seed, values in js_by_seed.items():
      for step, v in zip((0, 10), values):
        f.write(json.dumps({"step": step, "seed": seed, "target": target, "js": v, "w1": 2 * v}) + "\n")
  if status == "done":
    open(os.path.join(path, summary.DONE_FILE), "w").write("{}")
  elif status == "failed":
    with open(os.path.join(path, summary.ERROR_FILE), "w") as f:
      json.dump({"type": "NonFiniteError", "message": "non-finite loss at step 3"}, f)


@pytest.fixture
def sweep_dir(tmp_path):
  d = str(tmp_path / "sweep")
  os.makedirs(d)
  members = [
      ("a", {"objective": "minimax"}, "mixture_1d", {0: (0.6, 0.30), 1: (0.6, 0.50), 2: (0.6, 0.40)}, "done"),
      ("b", {"objective": "wasserstein", "n_critic": 5}, "mixture_1d", {0: (0.6, 0.2), 1: (0.6, 0.1), 2: (0.6, 0.3)},
       "done"),
      ("c", {"objective": "minimax", "target": "gaussian_1d"}, "gaussian_1d", {0: (0.5, 0.05), 1: (0.5, 0.07)},
       "done"),
      ("d", {"objective": "non_saturating"}, "mixture_1d", {0: (0.6,), 1: (0.6,)}, "failed"),
  ]
  for mid, overrides, target, js, status in members:
    _write_member(d, mid, overrides, target, js, status)
  with open(os.path.join(d, summary.SWEEP_FILE), "w") as f:
    json.dump({"members": [{"id": m[0], "overrides": m[1]} for m in members] + [{"id": "e", "overrides": {}}],
               "seed": 0, "num_seeds": 3}, f)
  return d


def _read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_results_table_is_tidy(sweep_dir):
  summary.write_results(sweep_dir)
  rows = _read_csv(os.path.join(sweep_dir, summary.RESULTS_CSV))
  # a: 3 seeds × 2 steps, b: 6, c: 2 × 2, d (failed): 2 × 1, e (pending): none.
  assert len(rows) == 6 + 6 + 4 + 2
  assert list(rows[0])[:7] == ["member", "status", "n_critic", "objective", "target", "step", "seed"]
  by_key = {(r["member"], r["seed"], r["step"]): r for r in rows}
  assert by_key[("b", "1", "10")]["js"] == "0.1" and by_key[("b", "1", "10")]["w1"] == "0.2"
  assert by_key[("b", "1", "10")]["n_critic"] == "5"
  assert by_key[("a", "0", "10")]["n_critic"] == "1"  # not overridden by a: its config's value
  assert by_key[("d", "0", "0")]["status"] == "failed"
  assert {r["status"] for r in rows if r["member"] != "d"} == {"done"}
  # results.parquet holds the same table as results.csv (read back with pyarrow, no pandas).
  table = pq.read_table(os.path.join(sweep_dir, summary.RESULTS_PARQUET)).to_pylist()
  assert [(r["member"], r["seed"], r["step"], r["status"]) for r in table] == [
      (r["member"], int(r["seed"]), int(r["step"]), r["status"]) for r in rows]


def test_summarize_known_answer(sweep_dir):
  text = summary.summarize(sweep_dir)
  stats_rows = _read_csv(os.path.join(sweep_dir, summary.SUMMARY_CSV))
  got = {(r["member"], r["metric"], r["kind"]): r for r in stats_rows}
  assert {m for m, _, _ in got} == {"a", "b", "c"}  # only finished members
  a_final = got[("a", "js", "final")]
  assert float(a_final["mean"]) == pytest.approx(0.4)
  assert float(a_final["std"]) == pytest.approx(0.1)  # sample std of 0.3, 0.5, 0.4
  assert float(a_final["ci_low"]) >= 0.3 and float(a_final["ci_high"]) <= 0.5
  assert float(got[("b", "w1", "best")]["mean"]) == pytest.approx(0.4)  # 2 × mean(0.2, 0.1, 0.3)
  assert float(got[("c", "js", "best")]["mean"]) == pytest.approx(0.06)
  ranking = _read_csv(os.path.join(sweep_dir, summary.RANKING_CSV))
  assert [(r["target"], r["rank"], r["member"]) for r in ranking] == [
      ("gaussian_1d", "1", "c"), ("mixture_1d", "1", "b"), ("mixture_1d", "2", "a")]
  assert "## Ranking for target mixture_1d, by final js" in text
  assert "NonFiniteError: non-finite loss at step 3" in text
  assert "1 failed" in text and "1 pending" in text
  with open(os.path.join(sweep_dir, summary.SUMMARY_MD)) as f:
    assert f.read() == text


def test_summarize_rank_by_another_metric(sweep_dir):
  # w1 = 2·js in this table: the same order, and the reported values are w1's.
  summary.summarize(sweep_dir, metrics=["w1"], rank_by="w1")
  ranking = _read_csv(os.path.join(sweep_dir, summary.RANKING_CSV))
  assert [r["member"] for r in ranking if r["target"] == "mixture_1d"] == ["b", "a"]
  assert float(ranking[1]["final_mean"]) == pytest.approx(0.4)  # b: 2 × 0.2


def test_summarize_bad_input(sweep_dir, tmp_path):
  with pytest.raises(ValueError, match="is not a sweep directory"):
    summary.summarize(str(tmp_path / "empty"))
  with pytest.raises(ValueError, match="metric 'nope' was logged by no finished member"):
    summary.summarize(sweep_dir, rank_by="nope")
  for mid in ("a", "b", "c"):
    os.unlink(os.path.join(summary.member_dir(sweep_dir, mid), summary.DONE_FILE))
  with pytest.raises(ValueError, match="no member of the sweep .* has finished yet"):
    summary.summarize(sweep_dir)


def test_image_sweep_is_grouped_by_dataset_and_ranks_higher_is_better_metrics_descending(tmp_path):
  d = str(tmp_path / "images")
  os.makedirs(d)
  by_member = {"a": {0: (90.0, 0.2), 1: (80.0, 0.4)}, "b": {0: (95.0, 0.6), 1: (85.0, 0.5)}}
  for mid, seeds in by_member.items():
    path = summary.member_dir(d, mid)
    os.makedirs(path)
    with open(os.path.join(path, summary.MEMBER_FILE), "w") as f:
      json.dump({"id": mid, "overrides": {}, "config": {"target": "", "dataset": "mnist5k"}}, f)
    with open(os.path.join(path, "metrics.jsonl"), "w") as f:
      for seed, (fcd, precision) in seeds.items():
        for step, scale in ((0, 2.0), (10, 1.0)):  # step 0: worse on both (higher FCD, lower precision)
          f.write(json.dumps({"step": step, "seed": seed, "fcd": fcd * scale, "precision": precision / scale}) + "\n")
    open(os.path.join(path, summary.DONE_FILE), "w").write("{}")
  with open(os.path.join(d, summary.SWEEP_FILE), "w") as f:
    json.dump({"members": [{"id": m, "overrides": {}} for m in by_member], "seed": 0, "num_seeds": 2}, f)

  text = summary.summarize(d)  # no js logged: ranked by fcd, lower first
  assert "## Ranking for dataset mnist5k, by final fcd (lower is better)" in text
  assert [r["member"] for r in _read_csv(os.path.join(d, summary.RANKING_CSV))] == ["a", "b"]
  stats_rows = {(r["member"], r["metric"], r["kind"]): r for r in _read_csv(os.path.join(d, summary.SUMMARY_CSV))}
  assert float(stats_rows[("a", "fcd", "best")]["mean"]) == pytest.approx(85.0)       # lowest over evaluations
  assert float(stats_rows[("b", "precision", "best")]["mean"]) == pytest.approx(0.55)  # highest over evaluations
  text = summary.summarize(d, rank_by="precision")
  assert "## Ranking for dataset mnist5k, by final precision (higher is better)" in text
  assert [r["member"] for r in _read_csv(os.path.join(d, summary.RANKING_CSV))] == ["b", "a"]


def test_image_to_image_metrics_rank_the_right_way():
  for metric in ("psnr", "ssim", "accuracy", "accuracy_ab", "accuracy_ba"):
    assert summary.higher_is_better(metric), metric
  for metric in ("l1", "fcd_ab", "cycle_a"):
    assert not summary.higher_is_better(metric), metric
