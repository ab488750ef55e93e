"""Session recording to MCAP (ROS 2 message schemas, crash-safe chunked writes, session metadata)."""
from react_ros.recording.msgdefs import known_types, message_definition
from react_ros.recording.recorder import McapRecorder, RecordedMessage, read_messages, read_metadata

__all__ = ["McapRecorder", "RecordedMessage", "known_types", "message_definition", "read_messages", "read_metadata"]
