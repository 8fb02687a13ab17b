"""The hash thread: every byte hashed in order, the sender paused while its backlog is full."""

from __future__ import annotations

import hashlib
import os
import threading

from harbor_twisted.storage import hash_thread
from harbor_twisted.storage.hash_thread import BACKLOG_BYTES, HashThread


def test_every_piece_is_hashed_in_order_whatever_its_size():
    pieces = [os.urandom(size) for size in (1, 32 * 1024, 3 * 1024 * 1024, 7, 300 * 1024) * 5]
    hasher = hashlib.sha256()
    hashing = HashThread(hasher.update)
    for piece in pieces:
        hashing.put(piece)
    hashing.finish()
    assert hasher.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_small_pieces_reach_the_hash_joined():
    sizes: list[int] = []
    hashing = HashThread(lambda data: sizes.append(len(data)))
    for _ in range(64):
        hashing.put(b"x" * 8192)  # a chunked body's pieces
    hashing.finish()
    assert sum(sizes) == 64 * 8192
    assert len(sizes) == 64 * 8192 // hash_thread.BATCH_BYTES  # joined, not one call each


def test_a_full_backlog_pauses_the_sender_until_the_hash_catches_up():
    release = threading.Event()
    events: list[str] = []
    resumed = threading.Event()

    def slow_update(data: bytes) -> None:
        release.wait()

    def resume() -> None:
        events.append("resume")
        resumed.set()

    hashing = HashThread(slow_update, lambda: events.append("pause"), resume)
    piece = b"\0" * (1024 * 1024)
    for _ in range(BACKLOG_BYTES // len(piece) + 1):
        hashing.put(piece)
    assert events == ["pause"]  # the hash is stuck: the sender must stop
    release.set()
    assert resumed.wait(10)
    hashing.finish()
    assert events == ["pause", "resume"]
