"""Robot faces: profiles (reaction -> actuator joints, YAML) and motion safety (smoothing, limits, watchdog)."""
from react_ros.robot.motion import MotionConfig, MotionController
from react_ros.robot.profile import Joint, RobotProfile, load_profile, profile_path

__all__ = ["Joint", "MotionConfig", "MotionController", "RobotProfile", "load_profile", "profile_path"]
