"""bench/ros_camera.py: camera-sized frames through ROS into the reaction node. One short real case (a smoke
run: every number is counted from what came back, nothing about speed is asserted) and the report's rows."""
from __future__ import annotations

import pytest

pytest.importorskip("rclpy")

from react_ros.bench.ros_camera import run_case, table  # noqa: E402


def test_a_camera_sized_case_counts_answered_frames_by_their_stamps():
    case = run_case(640, 480, "reliable", seconds=1.0, backend="torch")
    assert case["size"] == "640x480" and case["reliability"] == "reliable" and case["frames"] == 30
    assert 0 < case["answered"] <= case["frames"]
    assert case["end_to_end"]["n"] == case["answered"] and case["end_to_end"]["median_ms"] > 0
    assert case["answered_pct"] == round(100.0 * case["answered"] / case["frames"], 1)


def test_report_shows_each_case_with_its_answered_share_and_p99():
    from react_ros.bench.report import targets

    result = {"mode": "2 s per case", "backend": "onnxruntime", "transports": "default", "load_average_before": 1.0,
              "cases": [{"size": "1280x720", "reliability": "best_effort", "frames": 60, "answered": 30,
                         "answered_pct": 50.0, "end_to_end": {"median_ms": 12.0, "p99_ms": 101.5, "n": 30},
                         "dropped_frames": 30},
                        {"size": "640x480", "reliability": "reliable", "frames": 60, "answered": 0,
                         "answered_pct": 0.0, "end_to_end": {"median_ms": None, "p99_ms": None, "n": 0},
                         "dropped_frames": 0}]}
    rows = table(result).splitlines()
    assert rows[2] == "| 1280x720 | best_effort | 60 | 50.0 % | 12.0 | 101.5 |"
    assert rows[3] == "| 640x480 | reliable | 60 | 0.0 % | - | - |"
    rows = {t["target"]: t for t in targets({"plan": {"threads": 1, "default_window": 8, "default_steps": 4},
                                             "backends": {}, "ros_camera": result})}
    half = rows["frames answered through ROS, 1280x720 best_effort"]
    assert half["value"] == 50.0 and half["met"] is False and half["note"] == "end to end p99 102 ms"
