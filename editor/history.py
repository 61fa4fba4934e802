"""One undo/redo history for every edit: paint strokes, layer swaps, pose edits.

Why one generic stack: the user thinks of "the last thing I did", whatever panel it came from, so
Ctrl+Z must walk back through strokes, swaps and pose edits in the order they happened. Each edit
operation (editor.paint, editor.composition, the studio's pose edits) hands over a record that is
already applied and knows how to undo and redo itself; the history only orders them.

Records are pushed after they are applied (a stroke is painted while the mouse moves; its record is
pushed on release), so a push never applies anything. A new record drops the redo branch, as in
every editor. The depth limit bounds memory: paint records hold texel patches, and a long session
would otherwise grow without end; the oldest records are forgotten first.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Protocol

DEFAULT_DEPTH = 100


class Record(Protocol):
    """An applied edit that can be taken back and done again (any object with these three)."""

    label: str  # what the Edit menu says: "Undo paint stroke on top"

    def undo(self) -> None: ...

    def redo(self) -> None: ...


@dataclasses.dataclass
class CallbackRecord:
    """A record from two closures, for edits whose state lives in the caller (a pose, a composition)."""

    label: str
    undo_action: Callable[[], None]
    redo_action: Callable[[], None]

    def undo(self) -> None:
        self.undo_action()

    def redo(self) -> None:
        self.redo_action()


@dataclasses.dataclass
class GroupRecord:
    """Several records that happened as one user action (harmonise: a new latent and the paint it absorbed)."""

    label: str
    records: list[Record]

    def undo(self) -> None:
        for record in reversed(self.records):
            record.undo()

    def redo(self) -> None:
        for record in self.records:
            record.redo()


@dataclasses.dataclass
class History:
    """Undo and redo stacks of records, newest last; `on_change` runs after every change."""

    depth: int = DEFAULT_DEPTH
    on_change: Callable[[], None] | None = None
    version: int = 0  # bumped on every change: menus and panels relabel when it moves
    _done: list[Record] = dataclasses.field(default_factory=list)
    _undone: list[Record] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.depth < 1:
            raise ValueError(f"history depth {self.depth}: must be 1 or more")

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_label(self) -> str | None:
        """The label of the record Undo would take back (None when there is none)."""
        return self._done[-1].label if self._done else None

    @property
    def redo_label(self) -> str | None:
        return self._undone[-1].label if self._undone else None

    def __len__(self) -> int:
        return len(self._done)

    def push(self, record: Record) -> None:
        """Remember an applied edit; the redo branch is dropped and the oldest record beyond `depth` forgotten."""
        self._done.append(record)
        del self._done[:-self.depth]
        self._undone.clear()
        self._changed()

    def undo(self) -> Record | None:
        """Take back the newest edit; None (and nothing changes) when there is none."""
        return self._move(self._done, self._undone, lambda record: record.undo())

    def redo(self) -> Record | None:
        """Do again the edit undone last; None when there is none."""
        return self._move(self._undone, self._done, lambda record: record.redo())

    def _move(self, source: list[Record], target: list[Record], apply: Callable[[Record], None]) -> Record | None:
        """Apply the newest record of `source` and move it onto `target`. If applying raises, it did not
        happen: the record stays where it was, so the stacks stay consistent."""
        if not source:
            return None
        record = source.pop()
        try:
            apply(record)
        except BaseException:
            source.append(record)
            raise
        target.append(record)
        self._changed()
        return record

    def clear(self) -> None:
        """Forget everything (a new avatar or an opened project starts its own history)."""
        if self._done or self._undone:
            self._done.clear()
            self._undone.clear()
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        if self.on_change is not None:
            self.on_change()
