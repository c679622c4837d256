"""What an import did, object by object, and the summary printed at its end.

Every object of the export ends in one outcome: ``imported``, or skipped with a reason. Skips that leave
nothing to do (``present``: its ID already exists, and is never overwritten; ``duplicate``: the export
holds it twice; ``unsupported``: a kind that is not imported, such as runs) keep the exit status 0; the
others (``invalid``: malformed, or its file's bytes are missing; ``failed``: the database refused it) make
it 1, since something the operator meant to keep is not there. ``notes`` are what an imported object lost
on the way (a reference to a file the export does not hold).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from assistantd.importer.reader import Kind, Where

Status = Literal["imported", "present", "duplicate", "unsupported", "invalid", "failed"]

FAILURES: frozenset[Status] = frozenset({"invalid", "failed"})
KINDS: tuple[Kind, ...] = ("file", "vector_store", "assistant", "thread", "message")
PLURALS: dict[Kind, str] = {
    "file": "files",
    "vector_store": "vector stores",
    "assistant": "assistants",
    "thread": "threads",
    "message": "messages",
}
LABELS: dict[Status, str] = {
    "imported": "imported",
    "present": "already present",
    "duplicate": "duplicate",
    "unsupported": "not imported",
    "invalid": "malformed",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind | None
    """None for a line whose kind could not be told."""
    object_id: str | None
    where: Where | None
    status: Status
    reason: str = ""
    messages: int = 0
    """Messages imported with a thread."""


@dataclass(frozen=True, slots=True)
class Note:
    kind: Kind
    object_id: str
    where: Where
    text: str


@dataclass
class Report:
    target: str
    """The data dir and database imported into."""
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(o.status in FAILURES for o in self.outcomes) else 0

    def counts(self) -> dict[Kind, Counter[Status]]:
        """Per kind, how many objects ended in each status (messages imported with threads included)."""
        out: dict[Kind, Counter[Status]] = {k: Counter() for k in KINDS}
        for o in self.outcomes:
            if o.kind is not None:
                out[o.kind][o.status] += 1
            if o.messages:
                out["message"]["imported"] += o.messages
        return out

    @property
    def imported(self) -> int:
        """Objects imported, messages included."""
        return sum(c["imported"] for c in self.counts().values())

    def render(self) -> str:
        lines = [f"imported into {self.target}"]
        for kind, counter in self.counts().items():
            if not counter:
                continue
            parts = [f"{counter['imported']} imported"]
            parts += [f"{n} {LABELS[s]}" for s, n in sorted(counter.items()) if s != "imported" and n]
            lines.append(f"  {PLURALS[kind]:<14} {', '.join(parts)}")
        unclassified = sum(1 for o in self.outcomes if o.kind is None)
        if unclassified:
            lines.append(f"  {'other lines':<14} {unclassified} not imported (see below)")
        skipped = sorted(
            (o for o in self.outcomes if o.status != "imported"),
            key=lambda o: (o.where.file, o.where.line) if o.where else ("", 0),
        )
        if skipped:
            lines.append(f"skipped ({len(skipped)}):")
            for o in skipped:
                what = " ".join(x for x in (str(o.where) if o.where else "", o.object_id or "") if x)
                lines.append(f"  {what}: {LABELS[o.status]}{': ' + o.reason if o.reason else ''}")
        if self.notes:
            lines.append(f"notes ({len(self.notes)}):")
            lines.extend(f"  {n.where} {n.object_id}: {n.text}" for n in self.notes)
        if not self.outcomes:
            lines.append("  (the export holds no objects)")
        return "\n".join(lines)
