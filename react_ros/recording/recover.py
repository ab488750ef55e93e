"""Recover recordings cut short (SIGKILL, power cut): rebuild the summary and footer of an MCAP file whose writer
died, so that the `mcap` library's indexed reader, `ros2 bag` and Foxglove open it (not only our tolerant
`read_messages`).

A killed writer leaves the header, its complete chunks (schemas, channels, messages) and metadata, then a
chunk in progress. `recover(path)` reads every complete record in file order, stops at the cut, writes them
into a new file with a summary (same compression), checks that it reads back with the summary and the same
messages, and only then replaces the original (atomic rename): a failed recovery leaves the file as it was.

    react-ros study recover out/studies/example/P04          # every .mcap under a folder, or files
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RecoveryResult", "has_summary", "recover", "recover_all"]


@dataclass
class RecoveryResult:
    path: Path
    recovered: bool  # False: the file was intact and left alone
    messages: int  # messages in the (recovered) file
    metadata: int  # metadata records kept

    def __str__(self) -> str:
        what = "recovered" if self.recovered else "intact"
        return f"{self.path}: {what}, {self.messages} messages, {self.metadata} metadata records"


def has_summary(path: str | Path) -> bool:
    """The file ends with a footer and a summary the `mcap` library's indexed reader reads."""
    from mcap.reader import make_reader

    try:
        with open(path, "rb") as f:
            summary = make_reader(f).get_summary()
            return summary is not None and summary.statistics is not None
    except Exception:  # noqa: BLE001 (any failure to read the summary means: not intact)
        return False


def _records(path: Path) -> Iterable:
    """Every complete record, chunks opened, up to where the file was cut."""
    from mcap.stream_reader import StreamReader

    with open(path, "rb") as f:
        try:
            yield from StreamReader(f, skip_magic=False, emit_chunks=False, validate_crcs=True).records
        except Exception:  # noqa: BLE001 (the cut: a truncated record or chunk, a bad CRC)
            return


def _message_count(path: Path) -> int:
    from mcap.reader import make_reader

    with open(path, "rb") as f:
        return sum(1 for _ in make_reader(f).iter_messages(log_time_order=False))


def recover(path: str | Path, compression: str = "zstd") -> RecoveryResult:
    """Rebuild `path`'s summary when it has none (see the module doc); an intact file is left alone."""
    from mcap.records import Attachment, Channel, Header, Message, Metadata, Schema
    from mcap.writer import CompressionType, Writer

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no recording {path}")
    if has_summary(path):
        return RecoveryResult(path, False, _message_count(path), 0)
    tmp = path.with_name(path.name + ".recovering")
    schemas: dict[int, int] = {}
    channels: dict[int, int] = {}
    messages = metadata = 0
    kind = {"zstd": CompressionType.ZSTD, "lz4": CompressionType.LZ4, "none": CompressionType.NONE}[compression]
    with open(tmp, "wb") as out:
        writer = None
        for record in _records(path):
            if isinstance(record, Header):
                writer = Writer(out, compression=kind)
                writer.start(profile=record.profile, library=record.library)
            elif writer is None:
                break  # not an MCAP file (no header): nothing to rebuild from
            elif isinstance(record, Schema):
                schemas[record.id] = writer.register_schema(record.name, record.encoding, record.data)
            elif isinstance(record, Channel):
                channels[record.id] = writer.register_channel(record.topic, record.message_encoding,
                                                              schemas.get(record.schema_id, 0), record.metadata)
            elif isinstance(record, Message) and record.channel_id in channels:
                writer.add_message(channels[record.channel_id], record.log_time, record.data, record.publish_time,
                                   record.sequence)
                messages += 1
            elif isinstance(record, Metadata):
                writer.add_metadata(record.name, dict(record.metadata))
                metadata += 1
            elif isinstance(record, Attachment):
                writer.add_attachment(record.create_time, record.log_time, record.name, record.media_type,
                                      record.data)
        if writer is None:
            out.close()
            tmp.unlink()
            raise ValueError(f"{path}: not an MCAP recording (no header), cannot recover it")
        writer.finish()
        out.flush()
        os.fsync(out.fileno())
    if not has_summary(tmp) or _message_count(tmp) != messages:
        tmp.unlink()
        raise ValueError(f"{path}: the rebuilt file did not read back; the original is left as it was")
    os.replace(tmp, path)
    return RecoveryResult(path, True, messages, metadata)


def recover_all(paths: Iterable[str | Path]) -> list[RecoveryResult]:
    """`recover` every .mcap file given or under the folders given (sorted)."""
    files: list[Path] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            files += sorted(given.rglob("*.mcap"))
        elif given.is_file():
            files.append(given)
        else:
            raise FileNotFoundError(f"no recording or folder {given}")
    return [recover(f) for f in files]
