"""`react-ros analyze` beyond the per-condition metrics: operator overrides analysed as what ran, and the
within-subject comparisons (with a clear note instead of t = -inf when rows are identical)."""
from __future__ import annotations

import math

import numpy as np

from react_ros import schema
from react_ros.study.compare import paired_comparisons
from react_ros.study.speaker import ClipFeatures
from react_ros.study.studyfile import study_from_dict


def _features(n: int = 40) -> ClipFeatures:
    attributes = np.repeat(schema.neutral_frame()[None], n, 0)
    attributes[:, schema.index_of("AU12")] = np.linspace(0, 1, n)
    return ClipFeatures(attributes, np.ones(n, bool), np.zeros((n, 8), np.float32), np.ones(n, bool),
                        np.zeros((n, 8, 8, 3), np.uint8), np.zeros(16000, np.float32), 16000)


def test_an_operator_override_is_analysed_as_what_ran(tmp_path):
    from react_ros.study.analysis import analyze
    from react_ros.study.runner import StudyRunner

    study = study_from_dict({"name": "o", "duration_s": 1, "counterbalance": "fixed",
                             "conditions": [{"name": "mime", "kind": "mime"}, {"name": "nod", "kind": "script",
                                                                              "keyframes": [{"t": 0}]}]})
    runner = StudyRunner(study, "P01", tmp_path, _features())

    def operator(live: dict) -> None:  # "hold neutral" after frame 9 of the first condition
        if live["condition"] == "mime" and live["frame"] == 9:
            runner.command("neutral")

    runner.frame_listeners.append(operator)
    runner.run()
    rows = {(r["condition"], r["scheduled"]): r for r in analyze([tmp_path / "o"], tmp_path / "a").rows}
    assert sorted(rows) == [("hold_neutral", "mime"), ("mime", "mime"), ("nod", "nod")]
    assert rows[("mime", "mime")]["frames"] == 10 and rows[("hold_neutral", "mime")]["frames"] == 20
    assert rows[("hold_neutral", "mime")]["kind"] == "override"
    assert rows[("hold_neutral", "mime")]["FRDist_neutral"] == 0.0  # what ran: the neutral face
    assert rows[("mime", "mime")]["operator_switches"] == 1


def _rows(values: dict[str, list[float]]) -> list[dict]:
    return [{"participant": f"P{i:02d}", "condition": c, "frames": 30, "m": v}
            for c, vs in values.items() for i, v in enumerate(vs)]


def test_paired_comparisons_test_real_differences_and_say_when_rows_are_identical():
    [real] = paired_comparisons(_rows({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 1.0, 2.5, 3.0]}), ["m"])
    diff = np.array([0.5, 1.0, 0.5, 1.0])
    assert real["n"] == 4 and real["mean_diff"] == diff.mean() and real["t"] > 0 and 0 < real["p_t"] < 0.05
    assert math.isclose(real["d_z"], diff.mean() / diff.std(ddof=1)) and real["note"] == ""
    [same] = paired_comparisons(_rows({"a": [1.0, 1.0, 1.0], "b": [0.2, 0.2, 0.2]}), ["m"])  # one replayed clip
    assert same["note"].startswith("identical: every participant's difference is 0.8")
    assert math.isnan(same["t"]) and math.isnan(same["p_t"]) and math.isnan(same["d_z"])
    [alone] = paired_comparisons(_rows({"a": [1.0], "b": [2.0]}), ["m"])
    assert alone["note"] == "one participant: no test" and alone["mean_diff"] == -1.0
