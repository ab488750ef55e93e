"""Test-only stand-in for the `composition_interfaces` message package (it has no wheel).

`import launch_ros.actions` imports it for composable nodes, which react_ros does not use; only the names
that launch_ros touches at import time exist here. Never shipped: the launch test puts this directory on
PYTHONPATH of its `ros2 launch` subprocess.
"""
