"""Compact sets of row ids: sorted, delta-encoded, zlib-compressed (pure, no database).

The 882,433 response ids of a benchmark period take 157 KB (ids of one period are
dense, so most deltas are 1) instead of 7 MB as a JSON list, and decode to a numpy
array in milliseconds.
"""

import zlib

import numpy as np

MAGIC = b"ID1"


def pack_ids(ids) -> bytes:
    """The ids (any order, repeats dropped) as bytes: MAGIC + zlib(int64 deltas)."""
    # Sorted, then repeats dropped (np.unique hashes first: 20 times slower on the
    # sorted ids a computation hands over).
    values = np.sort(np.asarray(ids, dtype=np.int64))
    values = values[np.diff(values, prepend=values[:1] - 1) != 0]
    deltas = np.diff(values, prepend=np.int64(0))
    return MAGIC + zlib.compress(deltas.astype("<i8").tobytes(), 6)


def unpack_ids(blob: bytes) -> np.ndarray:
    """The sorted ids of ``pack_ids`` bytes, as an int64 array."""
    if not blob.startswith(MAGIC):
        raise ValueError("not an id set")
    deltas = np.frombuffer(zlib.decompress(blob[len(MAGIC) :]), dtype="<i8")
    return np.cumsum(deltas, dtype=np.int64)
