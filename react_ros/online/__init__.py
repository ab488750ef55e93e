"""The online reaction loop as a library (no ROS): the model's pipeline (pipeline.py) and the session around
it that the node, `react-ros run`, `eval --online` and the benchmarks drive (session.py)."""
from react_ros.online.pipeline import PipelineConfig, PipelineStats, ReactionOutput, ReactionPipeline
from react_ros.online.session import Command, ReactionSession, ReactionSource, SessionConfig, SessionDiagnostics

__all__ = ["Command", "PipelineConfig", "PipelineStats", "ReactionOutput", "ReactionPipeline", "ReactionSession",
           "ReactionSource", "SessionConfig", "SessionDiagnostics"]
