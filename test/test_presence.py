"""Presence as a state of the session: the robot eases to an attentive neutral when the speaker's face is gone,
resets the model's context once, and comes back within a second of a face (online/presence.py)."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema
from react_ros.online import PipelineStats, ReactionOutput, ReactionSession, SessionConfig
from react_ros.online.presence import ABSENT, LOST, PRESENT, Presence, PresenceConfig
from react_ros.robot import load_profile

FPS = 30.0
SMILE = schema.neutral_frame()
SMILE[schema.index_of("AU12")] = 1.0
SMILE[schema.VALENCE] = 0.8


class FaceScript:
    """A reaction source that always smiles; the test says per frame whether the face is there and whose."""

    def __init__(self) -> None:
        self.resets, self.context_resets = 0, 0
        self.present, self.speaker = True, 1
        self.stats = PipelineStats()

    def reset(self, seed=None) -> None:
        self.resets += 1

    def reset_context(self, seed=None) -> None:
        self.context_resets += 1

    def push_audio(self, samples, sample_rate, stamp) -> int:
        return 0

    def push_image(self, image, stamp, emit=None):
        output = ReactionOutput(stamp, 0, SMILE.copy(), SMILE[None], self.present, False, {},
                                face_reason="" if self.present else "no_face", speaker_id=self.speaker)
        emit(output)
        return output


def session_on(source, **config):
    clock = [100.0]
    session = ReactionSession(source, load_profile("screen_face"), SessionConfig(face_image="false", **config),
                              clock=lambda: clock[0], wall_clock=lambda: clock[0])
    session.start(0)
    return session, clock


def play(session, clock, source, present: list[bool], start: float = 0.0) -> list:
    commands = []
    for k, here in enumerate(present):
        source.present = here
        clock[0] = 100.0 + start + k / FPS
        session.on_image(np.zeros((32, 32, 3), np.uint8), 1000.0 + start + k / FPS, commands.append)
    return commands


def valence(command) -> float:
    return float(command.reaction[schema.VALENCE])


def test_nobody_there_from_the_start_shows_the_attentive_neutral():
    source = FaceScript()
    session, clock = session_on(source)
    commands = play(session, clock, source, [False] * 60)
    assert all(c.presence == ABSENT and c.output.presence == ABSENT for c in commands)  # published and recorded
    np.testing.assert_allclose(np.stack([c.reaction for c in commands]), schema.neutral_frame()[None].repeat(60, 0))
    values = session.diagnostics().values
    assert values["presence"] == ABSENT and values["presence_reason"] == "no_face"
    assert session.diagnostics().reason.startswith("no speaker")


def test_person_leaves_neutral_within_a_second_and_context_reset_once():
    source = FaceScript()
    session, clock = session_on(source)
    commands = play(session, clock, source, [True] * 60 + [False] * 60)
    assert commands[59].presence == PRESENT and valence(commands[59]) == pytest.approx(0.8)
    # a short miss (under the 0.4 s grace) keeps the reaction: lost, not absent
    assert commands[60].presence == LOST and valence(commands[60]) == pytest.approx(0.8)
    leave = 60
    one_second = leave + int(FPS)
    assert all(c.presence == ABSENT for c in commands[one_second:])
    np.testing.assert_allclose(commands[one_second].reaction, schema.neutral_frame(), atol=1e-6)
    totals = session.totals()
    assert totals["faces_lost"] == 1 and totals["context_resets"] == 1 and source.resets == 2  # start + leave


def test_short_miss_does_not_reset_and_face_returns_within_a_second():
    source = FaceScript()
    session, clock = session_on(source)
    play(session, clock, source, [True] * 30 + [False] * 6 + [True] * 30)
    assert session.totals()["faces_lost"] == 0 and source.resets == 1  # 0.2 s miss: the same person
    commands = play(session, clock, source, [False] * 30 + [True] * 30, start=10.0)
    back = 30
    assert commands[back].presence == ABSENT  # one face frame is not yet a person (confirm_s)
    within = [k for k in range(back, 60) if valence(commands[k]) == pytest.approx(0.8)]
    assert within and within[0] - back < FPS  # fully back within a second of the face
    assert all(c.presence == PRESENT for c in commands[back + 3:])


def test_a_new_speaker_resets_the_context_without_a_neutral_pause():
    source = FaceScript()
    session, clock = session_on(source)
    play(session, clock, source, [True] * 30)
    source.speaker = 2
    commands = play(session, clock, source, [True] * 30, start=1.0)
    assert source.context_resets == 1 and session.totals()["speaker_changes"] == 1
    assert all(c.presence == PRESENT and valence(c) == pytest.approx(0.8) for c in commands)


def test_grace_is_measured_in_frame_stamps_and_bad_config_is_refused():
    presence = Presence(PresenceConfig(grace_s=0.5, confirm_s=0.0, ease_s=0.0))
    presence.update(0.0, True, SMILE)
    assert presence.update(0.1, False, SMILE).state == LOST  # the face was last seen at 0.0, missed from 0.1
    assert presence.update(0.59, False, SMILE).state == LOST
    step = presence.update(0.6, False, SMILE, reason="turned")
    assert step.state == ABSENT and step.reset_context and step.reason == "turned"
    np.testing.assert_array_equal(step.reaction, schema.neutral_frame())
    with pytest.raises(ValueError, match="grace_s"):
        PresenceConfig(grace_s=-1.0)
