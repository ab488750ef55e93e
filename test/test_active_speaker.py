"""The active-speaker rule (perception/speaker_choice.py): with audio, the face that talks while the voice is on
becomes the speaker; without audio, size and centrality; in silence, the speaker is kept."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros.perception.face_models import Detection
from react_ros.perception.speaker_choice import RecentVoice, SpeakerTracker


def _detection(x: float, side: float) -> Detection:
    return Detection(box=(x, 0.0, side, side), keypoints=np.zeros((6, 2), np.float32), score=0.9)


def _talking(k: int) -> float:
    """An inner-lip opening that moves at a syllable rate (inter-ocular units)."""
    return 0.06 + 0.05 * np.sin(2 * np.pi * k / 3)


def test_with_speech_the_face_whose_mouth_moves_takes_over_after_the_takeover_delay():
    tracker = SpeakerTracker(takeover_frames=5)
    big, small = _detection(0, 200), _detection(400, 100)
    chosen = [tracker.choose([big, small], mouths=[0.01, _talking(k)], voice=True) for k in range(12)]
    # the mouth's spread is known from the 3rd pass; 5 passes later the talker is the speaker, a new person
    assert all(c is big for c in chosen[:6]) and all(c is small for c in chosen[7:]), chosen
    assert tracker.track_id == 2


def test_a_moving_mouth_without_a_voice_or_a_voice_without_a_moving_mouth_changes_nothing():
    for mouths, voice in (([0.01, "talk"], False), ([0.01, 0.01], True), ([0.01, "talk"], None)):
        tracker = SpeakerTracker(takeover_frames=5)
        big, small = _detection(0, 200), _detection(400, 100)
        for k in range(30):
            openings = [_talking(k) if m == "talk" else m for m in mouths]
            assert tracker.choose([big, small], mouths=openings, voice=voice) is big, (mouths, voice, k)
        assert tracker.track_id == 1


def test_when_both_mouths_move_the_speaker_is_kept_unless_the_other_moves_twice_as_much():
    tracker = SpeakerTracker(takeover_frames=5)
    a, b = _detection(0, 200), _detection(400, 100)
    for k in range(20):  # both talk alike (laughing along): no flapping
        assert tracker.choose([a, b], mouths=[_talking(k), _talking(k + 1)], voice=True) is a
    for k in range(20):  # the other talks, the speaker's mouth barely moves
        chosen = tracker.choose([a, b], mouths=[0.05 + 0.004 * (k % 2), _talking(k)], voice=True)
    assert chosen is b


def test_with_audio_in_silence_a_larger_face_does_not_take_back_the_speaker():
    tracker = SpeakerTracker(takeover_frames=5)
    big, small = _detection(0, 300), _detection(400, 100)
    tracker.choose([small])  # the only face: the speaker
    for _ in range(20):
        assert tracker.choose([big, small], mouths=[0.01, 0.01], voice=False) is small
    for _ in range(5):  # no audio at all: size and centrality again
        chosen = tracker.choose([big, small])
    assert chosen is big


def test_recent_voice_says_none_without_audio_and_follows_the_energy_gate():
    heard = RecentVoice(speech_frames=15, audio_timeout_frames=30, min_fraction=0.3)
    assert heard.state(0) is None
    heard.hear(np.ones(10, bool), now=1)
    assert heard.state(5) is True
    heard.hear(np.zeros(30, bool), now=20)
    assert heard.state(20) is False  # audio, but only silence in the last 15 frames
    assert heard.state(60) is None  # no row for more than a second: no audio


# ---------------------------------------------------------------------------------- through the mesh front end

pytest.importorskip("ai_edge_litert", reason="the mesh front end needs ai-edge-litert (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def scene():
    from react_ros.evaluation.active_speaker_demo import TwoFaces

    return TwoFaces()


def _run(scene, frames: int, audio: str, talking: bool = True, front=None):
    """-> (front end, per frame: is the speaker's box on the right-hand (talking) face)."""
    from react_ros.evaluation.active_speaker_demo import run_scene

    front, on_right, _ = run_scene(scene, frames, audio, talking, front)
    return front, on_right


def test_the_talking_face_becomes_the_speaker_within_a_second_of_speech(scene):
    front, on_right = _run(scene, 45, "speech")
    assert not any(on_right[:9])  # the larger face first, and not before the mouth is known
    assert all(on_right[30:]), on_right  # within a second of speech the talker is the speaker
    assert front.tracker.track_id == 2  # a new person: the session resets the model's context


def test_without_audio_or_in_silence_the_larger_face_stays_the_speaker(scene):
    for audio in ("none", "silence"):
        front, on_right = _run(scene, 45, audio)
        assert not any(on_right), audio
        assert front.tracker.track_id == 1


def test_after_speech_stops_the_speaker_is_kept_and_without_audio_size_rules_again(scene):
    front, on_right = _run(scene, 45, "speech")
    assert on_right[-1]
    front, on_right = _run(scene, 30, "silence", talking=False, front=front)
    assert all(on_right)  # the listener who stopped talking is still the person answered
    front, on_right = _run(scene, 75, "none", talking=False, front=front)
    assert on_right[0] and not on_right[-1]  # a second without audio, then 0.5 s of the larger face
