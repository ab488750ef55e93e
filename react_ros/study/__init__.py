"""Field experiments with participants: conditions (reaction sources), study files, the study runner,
analysis of the recordings. No ROS imports."""
