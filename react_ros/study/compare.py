"""Within-subject comparisons of a study's conditions: for each measure and each pair of conditions, the
participants who have both, a paired t-test and a Wilcoxon signed-rank test (scipy) and the effect size
Cohen's d_z (mean difference / SD of the differences).

When every participant's difference is the same (e.g. all of them saw the same replayed clip, so the rows of
one condition coincide), a t statistic is undefined (the SD is 0; scipy would print t = -inf): the row says
"identical" and leaves the statistics empty instead.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np

__all__ = ["COMPARISON_COLUMNS", "paired_comparisons"]

COMPARISON_COLUMNS = ["measure", "condition_a", "condition_b", "n", "mean_a", "mean_b", "mean_diff", "sd_diff",
                      "t", "p_t", "p_wilcoxon", "d_z", "note"]


def _value(row: dict, measure: str) -> float:
    value = row.get(measure, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def paired_comparisons(rows: list[dict], measures: list[str]) -> list[dict]:
    """rows: one per participant x condition (the participant's row with the most frames when several).
    Returns one row per (measure, pair of conditions) with COMPARISON_COLUMNS."""
    from scipy import stats

    best: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["participant"], row["condition"])
        if key not in best or row.get("frames", 0) > best[key].get("frames", 0):
            best[key] = row
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    participants = sorted({p for p, _ in best})
    out = []
    for measure in measures:
        for a, b in combinations(conditions, 2):
            pairs = [(_value(best[(p, a)], measure), _value(best[(p, b)], measure)) for p in participants
                     if (p, a) in best and (p, b) in best]
            pairs = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
            result = {"measure": measure, "condition_a": a, "condition_b": b, "n": len(pairs), "mean_a": math.nan,
                      "mean_b": math.nan, "mean_diff": math.nan, "sd_diff": math.nan, "t": math.nan,
                      "p_t": math.nan, "p_wilcoxon": math.nan, "d_z": math.nan, "note": ""}
            out.append(result)
            if not pairs:
                result["note"] = "no participant has both"
                continue
            x, y = np.array(pairs).T
            diff = x - y
            result.update(mean_a=float(x.mean()), mean_b=float(y.mean()), mean_diff=float(diff.mean()))
            if len(pairs) < 2:
                result["note"] = "one participant: no test"
                continue
            sd = float(diff.std(ddof=1))
            result["sd_diff"] = sd
            if sd <= 1e-12 * max(1.0, float(np.abs(diff).max())):
                result["note"] = (f"identical: every participant's difference is {diff[0]:.4g} (rows that coincide, "
                                  f"e.g. one replayed clip for all): no test")
                continue
            test = stats.ttest_rel(x, y)
            result.update(t=float(test.statistic), p_t=float(test.pvalue), d_z=float(diff.mean() / sd))
            if np.any(diff != 0):
                result["p_wilcoxon"] = float(stats.wilcoxon(x, y).pvalue)
    return out
