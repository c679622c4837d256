"""The server-side tools this server offers, built once in the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistantd.tools.base import Tool


@dataclass
class ToolRegistry:
    """Tools by Assistants tool type (``"file_search"``, ``"code_interpreter"``)."""

    by_type: dict[str, Tool] = field(default_factory=dict)

    def add(self, tool: Tool) -> None:
        self.by_type[tool.type] = tool

    def for_run(self, run_tools: list[dict[str, object]]) -> dict[str, tuple[Tool, dict[str, object]]]:
        """The run's enabled server tools by the function name the model sees, with the run's tool entry."""
        out: dict[str, tuple[Tool, dict[str, object]]] = {}
        for entry in run_tools:
            tool = self.by_type.get(str(entry.get("type")))
            if tool is not None:
                out[tool.name] = (tool, entry)
        return out
