"""Stamp checks and diagnostics windows (ROS-free helpers the reaction node uses): garbage stamps never reach a
command, out-of-order and duplicate frames are caught, pauses are not "dropped frames", latency percentiles
and the diagnostics level recover after bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from react_ros.online.health import ERROR, OK, WARN, HealthLevel, LatencyWindow
from react_ros.online.stamps import DUPLICATE, IMPLAUSIBLE, OUT_OF_ORDER, UNSTAMPED, FrameGaps, StampChecker

NOW = 1_796_000_000.0  # a wall-clock receive time


@pytest.mark.parametrize("garbage", [1.0, 86_400.0, 2.0**31 - 1, math.nan, math.inf, -5.0, NOW + 3600])
def test_garbage_stamps_are_replaced_by_the_receive_time(garbage):
    checker = StampChecker()
    check = checker.check(garbage, NOW)
    assert check.stamp == NOW and check.problem == IMPLAUSIBLE and check.usable and check.bad


def test_missing_stamp_is_the_receive_time_and_not_an_error():
    check = StampChecker().check(0.0, NOW)
    assert check.stamp == NOW and check.problem == UNSTAMPED and check.usable and not check.bad


def test_out_of_order_and_duplicate_stamps_are_dropped_and_the_stream_continues():
    checker = StampChecker()
    assert checker.check(NOW, NOW).problem == ""
    assert checker.check(NOW + 0.033, NOW + 0.04).problem == ""
    duplicate = checker.check(NOW + 0.033, NOW + 0.05)
    assert duplicate.problem == DUPLICATE and not duplicate.usable and duplicate.bad
    late = checker.check(NOW + 0.010, NOW + 0.06)
    assert late.problem == OUT_OF_ORDER and not late.usable
    resumed = checker.check(NOW + 0.066, NOW + 0.07)
    assert resumed.problem == "" and resumed.usable and resumed.stamp == NOW + 0.066


def test_substituted_stamps_stay_in_order():
    checker = StampChecker()
    checker.check(NOW + 2.0, NOW)  # a sender clock 2 s ahead: plausible, accepted
    check = checker.check(1.0, NOW + 0.03)  # garbage -> receive time, which is behind the accepted stamp
    assert check.usable and check.stamp > NOW + 2.0


def test_a_valid_frame_after_a_substituted_stamp_is_not_dropped():
    """Transport slower than a frame interval: the next frame was captured before the bad one arrived."""
    checker = StampChecker()
    checker.check(NOW, NOW + 0.040)
    bad = checker.check(1.0, NOW + 0.080)  # garbage, arrives 80 ms after the first frame's capture
    assert bad.stamp == NOW + 0.080 and bad.usable
    valid = checker.check(NOW + 0.033, NOW + 0.090)  # captured 33 ms after the first, before the bad one arrived
    assert valid.usable and valid.problem == "" and valid.stamp == NOW + 0.033


def test_replays_can_accept_any_finite_clock():
    checker = StampChecker(max_skew_s=math.inf)
    assert checker.check(1_600_000_000.0, NOW).problem == ""
    assert checker.check(math.nan, NOW).problem == IMPLAUSIBLE


def test_frame_gaps_count_lost_frames_but_not_pauses():
    gaps = FrameGaps(pause_s=0.5)
    stamps = list(NOW + np.arange(10) / 30)
    assert sum(gaps.add(s) for s in stamps) == 0
    assert gaps.add(stamps[-1] + 4 / 30) == 3  # three frames missing
    assert gaps.add(stamps[-1] + 5.5 / 30) == 0  # timer jitter of 1.5 intervals is not a loss
    assert gaps.add(stamps[-1] + 3.0) == 0 and gaps.pauses == 1  # a 3 s pause of the source
    assert sum(gaps.add(stamps[-1] + 3.0 + k / 30) for k in range(1, 8)) == 0


def test_latency_window_recovers_after_outliers_and_rejects_garbage():
    window = LatencyWindow(seconds=10.0)
    for k in range(300):
        window.add(0.004, NOW + k / 30)
    for _ in range(10):  # frames stamped 1970 (before stamps were checked)
        assert window.add(1.8e9, NOW + 10.0)
    assert not window.add(math.nan, NOW + 10.0) and not window.add(-0.5, NOW + 10.0) and window.rejected == 2
    assert window.summary_ms(NOW + 10.0)["p99"] > 1e9
    for k in range(300):
        window.add(0.005, NOW + 10.0 + k / 30)
    summary = window.summary_ms(NOW + 20.1)
    assert summary["p99"] == pytest.approx(5.0) and summary["median"] == pytest.approx(5.0)
    assert math.isnan(window.summary_ms(NOW + 60)["median"])  # nothing recent: no number, not an old one


def test_health_level_returns_to_ok_after_bad_input():
    health = HealthLevel(["bad_images", "bad_stamps"])
    counters = {"images": 30, "bad_images": 0, "bad_stamps": 0}
    assert health.update(counters) == (OK, "reacting")
    counters.update(images=60, bad_images=3, bad_stamps=1)
    level, message = health.update(counters)
    assert level == WARN and "bad_images +3" in message and "bad_stamps +1" in message
    counters["images"] = 90
    assert health.update(counters)[0] == OK  # totals are still non-zero, but nothing new arrived
    assert health.update(counters, stale=True) == (WARN, "no input")
    assert health.update(counters, error="backend failed") == (ERROR, "backend failed")
    held = HealthLevel(["bad_images"], hold=2)
    held.update({"bad_images": 1})
    assert held.update({"bad_images": 1})[0] == WARN and held.update({"bad_images": 1})[0] == OK
