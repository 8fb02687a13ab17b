"""Byte ranges: ``Content-Range`` on upload chunks and ``Range`` on blob downloads."""

from __future__ import annotations

import re

from harbor_twisted.registry.errors import RegistryError

_CHUNK_RANGE = re.compile(r"^(?:bytes[ =])?(\d{1,19})-(\d{1,19})(?:/(?:\d{1,19}|\*))?$")
_BYTE_RANGE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


def parse_content_range(header: str, current_size: int) -> tuple[int, int]:
    """Validate an upload chunk's ``start-end`` (inclusive) against the upload's size.

    Chunks must arrive in order, without gaps or overlaps: anything else answers 416.
    """
    match = _CHUNK_RANGE.match(header.strip())
    if not match:
        raise RegistryError(
            "BLOB_UPLOAD_INVALID", f"malformed Content-Range {header[:64]!r}", status=416
        )
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise RegistryError("BLOB_UPLOAD_INVALID", "Content-Range end precedes start", status=416)
    if start != current_size:
        raise RegistryError(
            "BLOB_UPLOAD_INVALID",
            f"chunk starts at {start} but the upload holds {current_size} bytes",
            status=416,
        )
    return start, end


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range asked for, None for the whole blob; 416 if unsatisfiable."""
    if header is None:
        return None
    text = header.strip()
    if not text.lower().startswith("bytes="):
        return None  # an unknown range unit is ignored (RFC 9110)
    if "," in text:
        return None  # several ranges: answer the whole representation
    match = _BYTE_RANGE.match(text.replace(" ", ""))
    unsatisfiable = RegistryError(
        "SIZE_INVALID",
        f"range {text[:64]!r} cannot be satisfied for a blob of {size} bytes",
        {"size": size},
        status=416,
        headers={"Content-Range": f"bytes */{size}"},
    )
    if not match or (not match.group(1) and not match.group(2)):
        raise unsatisfiable
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise unsatisfiable
    return start, min(end, size - 1)
