"""react_ros: online facial reaction generation for social robots (library; no ROS imports here)."""
__version__ = "0.1.0"
