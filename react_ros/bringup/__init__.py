"""In-process bringup: the ROS nodes in one process with the launch file's parameter file (see runner.py)."""
