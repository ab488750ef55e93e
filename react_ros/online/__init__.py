"""The online reaction loop as a library (no ROS): see pipeline.py."""
from react_ros.online.pipeline import PipelineConfig, PipelineStats, ReactionOutput, ReactionPipeline

__all__ = ["PipelineConfig", "PipelineStats", "ReactionOutput", "ReactionPipeline"]
