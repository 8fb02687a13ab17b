"""A blob read from S3, streamed: one ranged GET, read as the consumer drains it."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.response import StreamingBody


class S3BlobReader:
    def __init__(self, body: StreamingBody | None) -> None:
        self._body = body  # None: nothing left to read

    def read(self, size: int = -1, /) -> bytes:
        if self._body is None:
            return b""
        return self._body.read(None if size < 0 else size)

    def close(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def __enter__(self) -> S3BlobReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None, /) -> None:
        self.close()
