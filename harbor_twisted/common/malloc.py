"""Large allocations straight from the OS, so that freeing them gives the memory back.

Each password check (argon2id, 19 MiB) allocates and frees 19 MiB. glibc serves a block
that large with mmap at first, then, freeing it, raises its mmap threshold above it: later
ones come from the heap of the thread's arena and stay resident after they are freed. Every
thread that ever checked a password kept ~19 MiB (RSS grew in 19 MiB steps under a soak).
A fixed threshold turns that adjustment off; 4 MiB keeps the 1 MiB I/O buffers of uploads
and downloads on the heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt parameter number (glibc's malloc.h)
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


def return_large_allocations() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
