"""Start writing an upload's bytes to disk while the rest still arrives.

A push is acknowledged only once its bytes are on disk (fsync at commit). Left to the
kernel, most of a blob is still dirty in the page cache when the last byte arrives, so the
client waits for the whole flush after the whole transfer. ``sync_file_range`` with
``SYNC_FILE_RANGE_WRITE`` queues the writeback of what has arrived so far without waiting
for it, so receiving and writing overlap and the final fsync finds little left to do.
Linux only; elsewhere (or if the call fails) nothing is started and the fsync does it all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

WRITEBACK_BYTES = 8 * 1024 * 1024  # queue the writeback every this many bytes received
_SYNC_FILE_RANGE_WRITE = 2


def _load() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load() if os.uname().sysname == "Linux" else None


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Queue the writeback of ``length`` bytes at ``offset`` (best effort, never waits for
    the disk to finish)."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)
