"""Read an offline run's ``.wandb`` file back, to check what the reporter logged.

wandb keeps no Python reader for this file (the writer lives in its Go core), so this helper
reads the format directly. The file is a 7-byte header (``:W&B``, a 2-byte magic, a version
byte) followed by LevelDB-style log records: blocks of 32 KiB, each record a 7-byte header
(CRC32-C: 4 bytes, length: 2 bytes little-endian, type: 1 byte) and its payload; a payload
that crosses a block boundary is split into FIRST/MIDDLE/LAST chunks, and a block tail too
short for a header is zero padding. Each whole payload is one protobuf
``wandb.proto.wandb_internal_pb2.Record``. The CRC is not verified: a corrupt file shows up
as a protobuf decode error instead.

``run.finish()`` returns before wandb's service process has written everything in offline
mode, so a test reads a run with :func:`wait_for_run`, which waits for the exit record.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE_HEADER = 7
BLOCK = 32 * 1024
RECORD_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def payloads(data: bytes) -> list[bytes]:
    """The whole record payloads of a ``.wandb`` file, in order."""
    if data[:4] != b":W&B":
        raise ValueError("not a .wandb file: it does not start with ':W&B'")
    out: list[bytes] = []
    pending = b""
    offset = FILE_HEADER
    while offset + RECORD_HEADER <= len(data):
        room = BLOCK - offset % BLOCK
        if room < RECORD_HEADER:  # block tail: padding
            offset += room
            continue
        length, kind = struct.unpack_from("<HB", data, offset + 4)
        if length == 0 and kind == 0:  # zero padding (an unfinished block)
            offset += room
            continue
        chunk = data[offset + RECORD_HEADER : offset + RECORD_HEADER + length]
        if len(chunk) < length:  # the writer is still at work: a record half on disk
            break
        offset += RECORD_HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            out.append(pending + chunk)
            pending = b""
        else:
            raise ValueError(f"unknown record type {kind} at byte {offset}")
    return out


@dataclass
class OfflineRun:
    """What an offline run holds: its config, history rows, summary and exit code."""

    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None


def _item_key(item: Any) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def read_run(run_dir: Path) -> OfflineRun:
    """Parse ``run_dir/run-*.wandb`` (an ``offline-run-*`` folder)."""
    from wandb.proto import wandb_internal_pb2

    (path,) = Path(run_dir).glob("run-*.wandb")
    run = OfflineRun()
    for payload in payloads(path.read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            for item in record.run.config.update:
                run.config[_item_key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run.config[_item_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append(
                {_item_key(item): json.loads(item.value_json) for item in record.history.item}
            )
        elif kind == "summary":
            for item in record.summary.update:
                run.summary[_item_key(item)] = json.loads(item.value_json)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def wait_for_run(run_dir: Path, timeout: float = 30.0) -> OfflineRun:
    """``read_run`` once the run's exit record is on disk (wandb writes the file from its own
    service process, after ``run.finish()`` has returned)."""
    deadline = time.monotonic() + timeout
    while True:
        run = read_run(run_dir)
        if run.exit_code is not None:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"{run_dir}: no exit record after {timeout} s; read {run}")
        time.sleep(0.05)
