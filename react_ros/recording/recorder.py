"""An MCAP session recorder for experiments: ROS 2 messages (cdr, ros2 profile) that `ros2 bag`, Foxglove and
mcap-ros2-support read, plus the session's metadata.

- Messages: any rclpy message object or a plain dict with the same fields, with a type from msgdefs
  (Image, JointState, Float32MultiArray, UInt8MultiArray, String, DiagnosticArray).
- Metadata records (MCAP `Metadata`): "session" (participant id, condition, seed, start time), "model"
  (backend, model and engine sha256 ids), "parameters" (every node parameter), anything else given.
- Privacy: with `raw_media=False`, topics registered as raw media (camera images, microphone audio) are
  not written at all: only the derived features (speaker attributes, audio features), the reactions and
  the commands are. `write` returns False for a dropped message.
- Crash safety: chunks are small (`chunk_size`, default 64 KiB) and the file is flushed when a chunk
  completes and at least every `flush_interval_s`, so a SIGKILL or power cut loses at most the chunk in
  progress; the rest reads back with `read_messages(path)` (which tolerates a missing footer).
  `close()` writes the summary and footer; `install_signal_handlers()` makes SIGINT/SIGTERM close
  the file cleanly before the process ends.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mcap.writer import CompressionType
from mcap_ros2.writer import Writer as Ros2Writer

from react_ros.recording.msgdefs import message_definition

__all__ = ["McapRecorder", "read_messages", "read_metadata", "RecordedMessage"]


class McapRecorder:
    def __init__(self, path: str | Path, metadata: dict[str, dict[str, Any]] | None = None,
                 raw_media: bool = True, chunk_size: int = 64 * 1024, flush_interval_s: float = 0.5,
                 compression: str = "zstd") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_media = bool(raw_media)
        self.flush_interval_s = float(flush_interval_s)
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        kind = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[compression]
        self._writer = Ros2Writer(self._file, chunk_size=chunk_size, compression=kind)
        self._schemas: dict[str, Any] = {}
        self._media_topics: set[str] = set()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._sequence: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.dropped_media = 0
        self.closed = False
        self._previous_handlers: dict[int, Any] = {}
        self._chained: dict[int, Any] = {}
        self._writer_thread: int | None = None  # thread inside write(), for the signal handler
        self._pending_signal: tuple | None = None
        self._pending_thread: int | None = None
        for name, values in (metadata or {}).items():
            self.add_metadata(name, values)

    # ------------------------------------------------------------------------------------------ writing

    def mark_raw_media(self, *topics: str) -> None:
        """Topics that carry raw camera video / microphone audio (left out when raw_media is False)."""
        self._media_topics.update(topics)

    def add_metadata(self, name: str, values: dict[str, Any]) -> None:
        """A metadata record; values that are not strings are stored as JSON."""
        data = {str(k): v if isinstance(v, str) else json.dumps(v, default=str) for k, v in values.items()}
        with self._locked() as open_:
            if open_:
                self._writer.add_metadata(name, data)
                self._flush_locked()
        self._handle_pending_signal()

    def write(self, topic: str, datatype: str, message: Any, log_time_ns: int | None = None,
              publish_time_ns: int | None = None) -> bool:
        """Write one message; False when it was left out (closed, or raw media in a features-only session)."""
        if topic in self._media_topics and not self.raw_media:
            self.dropped_media += 1
            return False
        with self._locked() as open_:
            if open_:
                schema = self._schemas.get(datatype)
                if schema is None:
                    schema = self._writer.register_msgdef(_full_name(datatype), message_definition(datatype))
                    self._schemas[datatype] = schema
                log_time = time.time_ns() if log_time_ns is None else int(log_time_ns)
                sequence = self._sequence.get(topic, 0)
                self._writer.write_message(topic, schema, message, log_time=log_time,
                                           publish_time=log_time if publish_time_ns is None else int(publish_time_ns),
                                           sequence=sequence)
                self._sequence[topic] = sequence + 1
                self.counts[topic] = self.counts.get(topic, 0) + 1
                if time.monotonic() - self._last_flush >= self.flush_interval_s:
                    self._flush_locked()
        self._handle_pending_signal()
        return open_

    def flush(self) -> None:
        """End the chunk in progress and write it to disk now."""
        with self._locked() as open_:
            if open_:
                self._flush_locked()
        self._handle_pending_signal()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        """Hold the lock (yields whether the file is open) and mark this thread as inside the writer."""
        with self._lock:
            self._writer_thread = threading.get_ident()
            try:
                yield not self.closed
            finally:
                self._writer_thread = None

    def _handle_pending_signal(self) -> None:
        if self._pending_signal is not None and threading.get_ident() == self._pending_thread:
            signum, frame = self._pending_signal
            self._pending_signal = None
            self.close()
            self._chain(signum, frame)

    def _flush_locked(self) -> None:
        # mcap's Writer.flush() ends the chunk in progress and writes everything to the file; the ros2
        # writer wraps one and does not expose it.
        self._writer._writer.flush()
        self._file.flush()
        try:
            os.fsync(self._file.fileno())
        except OSError:
            pass
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Write the summary and footer and close the file (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self._writer.finish()
            finally:
                self._file.close()
        self._restore_signal_handlers()

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ signals

    def install_signal_handlers(self) -> None:
        """On SIGINT/SIGTERM: close the recording cleanly, then behave as the previous handler would
        (KeyboardInterrupt for SIGINT, exit code 128+15 for SIGTERM). Main thread only."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if self._writer_thread == threading.get_ident():
            # The signal interrupted a write() in this very thread: finishing the file now would cut that
            # record in half, so write() closes the file and chains the signal as soon as it returns.
            self._pending_signal, self._pending_thread = (signum, frame), threading.get_ident()
            return
        self.close()  # waits for a write in another thread to finish
        self._chain(signum, frame)

    def _chain(self, signum, frame) -> None:
        previous = self._previous_handlers.get(signum) or self._chained.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._chained = dict(self._previous_handlers)  # _chain still needs them after the restore
        for signum, handler in self._previous_handlers.items():
            try:
                if signal.getsignal(signum) == self._on_signal:
                    signal.signal(signum, handler)
            except (ValueError, TypeError):
                pass
        self._previous_handlers.clear()


def _full_name(datatype: str) -> str:
    parts = datatype.split("/")
    return f"{parts[0]}/msg/{parts[-1]}" if len(parts) == 2 else datatype


# ------------------------------------------------------------------------------------------------ reading

class RecordedMessage:
    __slots__ = ("topic", "datatype", "log_time_ns", "publish_time_ns", "message")

    def __init__(self, topic: str, datatype: str, log_time_ns: int, publish_time_ns: int, message: Any) -> None:
        self.topic, self.datatype, self.message = topic, datatype, message
        self.log_time_ns, self.publish_time_ns = log_time_ns, publish_time_ns


def read_messages(path: str | Path, topics: list[str] | None = None) -> Iterator[RecordedMessage]:
    """Decoded messages in file order. A file cut short (killed writer) yields what its complete chunks hold."""
    from mcap.exceptions import McapError
    from mcap.reader import NonSeekingReader
    from mcap_ros2.decoder import DecoderFactory

    factory = DecoderFactory()
    decoders: dict[int, Any] = {}
    with open(path, "rb") as f:
        reader = NonSeekingReader(f, decoder_factories=[factory])
        try:
            for schema, channel, message in reader.iter_messages(topics=topics, log_time_order=False):
                decoder = decoders.get(channel.id)
                if decoder is None:
                    decoder = factory.decoder_for(channel.message_encoding, schema)
                    decoders[channel.id] = decoder
                yield RecordedMessage(channel.topic, schema.name if schema else "", message.log_time,
                                      message.publish_time, decoder(message.data))
        except (McapError, EOFError, ValueError, OSError):
            return  # truncated tail: everything before it has been yielded


def read_metadata(path: str | Path) -> dict[str, dict[str, str]]:
    """{name: {key: value}} of a (cleanly closed or truncated) recording."""
    from mcap.exceptions import McapError
    from mcap.reader import NonSeekingReader

    out: dict[str, dict[str, str]] = {}
    with open(path, "rb") as f:
        try:
            for record in NonSeekingReader(f).iter_metadata():
                out[record.name] = dict(record.metadata)
        except (McapError, EOFError, ValueError, OSError):
            pass
    return out
