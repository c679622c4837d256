"""The seam between the run engine and the API a run belongs to.

``RunEngine`` owns what every run shares, whichever API created it: the turn loop, the upstream call with
its deadline and cancellation, enforcing ``tool_choice`` and ``parallel_tool_calls``, judging a turn into
one named outcome, usage, expiry and cancels. A ``RunSession`` owns what differs: where the model's input
comes from (a thread, or a response's chain of items), how a streamed turn is recorded and announced
(thread messages, run steps and ``thread.*`` events; or output items and ``response.*`` events), and how a
run ends. Implementations: ``runs.assistants.AssistantsRun`` and ``responses.session.ResponseRun``.

A session lives for one execution of one run, in one process; everything it needs to continue after a
restart is in the database (the run record, its items or messages and steps).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from assistantd.backends.base import ChatMessage, TurnEvent, Usage
from assistantd.backends.registry import Route
from assistantd.runs.context import ServerTools, TurnInput
from assistantd.runs.outcomes import Failed, Incomplete, Outcome, RunTools
from assistantd.store.records import RunRecord


class PlayedCall(Protocol):
    id: str
    name: str
    arguments: str


class PlayedTurn(Protocol):
    """What the engine reads of a played turn."""

    @property
    def text(self) -> str: ...

    @property
    def calls(self) -> Sequence[PlayedCall]: ...

    @property
    def finish_reason(self) -> str | None: ...

    @property
    def usage(self) -> Usage | None: ...


class TurnPlayer(Protocol):
    """Records one streamed turn as it arrives."""

    @property
    def result(self) -> PlayedTurn: ...

    async def play(self, stream: AsyncIterator[TurnEvent]) -> PlayedTurn:
        """Consume the turn's events; return what was played."""
        ...


class RunSession(Protocol):
    @property
    def run(self) -> RunRecord:
        """The run as last written (the engine reads its options, usage and status)."""
        ...

    def stage(self, **values: Any) -> None:
        """Run columns to write with the next update (usage after each turn)."""
        ...

    async def resume(self) -> None:
        """The process executing the run stopped mid-turn: close what that turn left open (its partial
        message ends ``incomplete``, its steps ``failed``), so the turn is taken again from scratch."""
        ...

    async def started(self) -> None:
        """The run moved to ``in_progress``: announce it."""
        ...

    def server_tools(self, registered: ServerTools) -> ServerTools:
        """The run's server-side tools: the registered ones its tools enable, plus any the session offers
        itself (a response's MCP tools)."""
        ...

    async def automatic_calls(self, server: ServerTools) -> None:
        """Server-side calls made before the model's first turn (an optional capability of a tool)."""
        ...

    async def turn_input(self, route: Route, extra: tuple[ChatMessage, ...], server: ServerTools) -> TurnInput:
        """The next turn's request: history, the run's own turns so far, then ``extra``."""
        ...

    def player(self, server: ServerTools) -> TurnPlayer:
        """A recorder for the next turn."""
        ...

    async def server_calls(self, player: TurnPlayer, outcome: RunTools, server: ServerTools, usage: Usage) -> bool:
        """Execute the turn's server-side calls and record them. True when the run must stop there and wait
        for the client (an MCP call that needs approval)."""
        ...

    async def wait_for_outputs(self, function_calls: list[dict[str, Any]]) -> None:
        """Client-side function calls (``{"id", "type": "function", "function": {name, arguments}}``) ended
        the turn after server-side calls: wait for their outputs (``requires_action``), or end with them as
        output (a response)."""
        ...

    async def discard_answer(self, player: TurnPlayer, usage: Usage) -> None:
        """The turn's answer will be asked for again (it failed the response format): drop it, if any."""
        ...

    async def conclude(self, player: TurnPlayer, outcome: Outcome, usage: Usage, server: ServerTools) -> None:
        """Apply the final outcome of a played turn: ``RequiresAction``, ``Completed``, ``Incomplete`` or
        ``Failed``."""
        ...

    async def finish(self, player: TurnPlayer | None, status: str, outcome: Failed | Incomplete | None = None) -> None:
        """End the run with ``status``: close what the turn left open, write the terminal state."""
        ...

    def gone(self) -> None:
        """The run's row vanished while it executed (deleted with its thread): tell its streams it ended."""
        ...

    async def interrupted(self) -> None:
        """The execution is being cancelled (its process stops): write now what a later resumption relies on
        and would otherwise be written later (a response's events sent but not yet stored)."""
        ...
