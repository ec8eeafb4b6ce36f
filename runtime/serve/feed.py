"""The recent records, for the live pages: one writer appends, any number of readers follow.

A ring of slots, each (sequence number, bytes): the writer's cost per record is one store, however
many pages are open, and no reader takes a lock. A reader that falls more than a ring behind skips
what was overwritten (a slow page drops records; nothing waits for it)."""

from __future__ import annotations

SIZE = 8192  # records a page can fall behind before it misses some


class Feed:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.slots: list[tuple[int, bytes] | None] = [None] * size
        self.head = 0  # the next record's number

    def append(self, record: bytes) -> None:
        """Add one record (from one thread at a time)."""
        n = self.head
        self.slots[n % self.size] = (n, record)
        self.head = n + 1

    def since(self, cursor: int) -> tuple[list[bytes], int]:
        """The records numbered from `cursor` on that are still in the ring, and the cursor
        to pass next time."""
        head = self.head
        out = []
        for n in range(max(cursor, head - self.size), head):
            slot = self.slots[n % self.size]
            if slot is not None and slot[0] == n:  # not overwritten since head was read
                out.append(slot[1])
        return out, head
