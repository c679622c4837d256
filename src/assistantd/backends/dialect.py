"""What one upstream's ``/chat/completions`` accepts, learned from its 400s and remembered per model.

OpenAI-compatible servers disagree on a few optional fields. OpenAI's reasoning models (o-series, gpt-5)
reject ``max_tokens`` and ``parallel_tool_calls``; older or stricter servers reject
``max_completion_tokens``; non-reasoning models on OpenAI reject ``reasoning_effort``. A ``Dialect`` starts
from the configured default (``token_limit_parameter``), and when the upstream answers 400 naming one of the
optional fields we sent, it renames the token limit (``max_completion_tokens`` ⇄ ``max_tokens``) or drops the
field, remembers that for the model, and the request is sent again at once. What an upstream will not do
(a dropped ``parallel_tool_calls: false``) the run engine enforces itself.

Process-local by design: what is learned costs one extra request per model and process, so it is not stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

TokenLimitParameter = Literal["auto", "max_completion_tokens", "max_tokens"]

TOKEN_FIELDS = ("max_completion_tokens", "max_tokens")
DROPPABLE = ("parallel_tool_calls", "reasoning_effort", "temperature", "top_p")
"""Optional fields we may leave out when an upstream refuses them (never ``response_format`` or ``tools``)."""


@dataclass
class _ModelDialect:
    token_field: str
    dropped: set[str] = field(default_factory=set)
    refused_token_fields: set[str] = field(default_factory=set)


@dataclass
class Dialect:
    """The learned dialect of one upstream; see the module docstring."""

    token_limit_parameter: TokenLimitParameter = "auto"
    _models: dict[str, _ModelDialect] = field(default_factory=dict)

    def _of(self, model: str) -> _ModelDialect:
        known = self._models.get(model)
        if known is None:
            default = "max_tokens" if self.token_limit_parameter == "max_tokens" else "max_completion_tokens"
            known = self._models[model] = _ModelDialect(default)
        return known

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` as this upstream accepts it: the token limit under its field, refused fields left out."""
        model = self._of(str(body.get("model", "")))
        out = {k: v for k, v in body.items() if k not in model.dropped}
        limit = out.pop("max_tokens", None)
        if limit is not None:
            out[model.token_field] = limit
        return out

    def learn(self, sent: dict[str, Any], status: int, error: dict[str, Any] | None, text: str) -> bool:
        """Adapt to a refusal of ``sent``; True when the request should be sent again adapted."""
        if status not in (400, 422) or not _REFUSAL.search(text):
            return False
        culprit = _culprit(sent, error, text)
        if culprit is None:
            return False
        model = self._of(str(sent.get("model", "")))
        if culprit in TOKEN_FIELDS:
            if self.token_limit_parameter != "auto" or culprit in model.refused_token_fields:
                return False
            model.refused_token_fields.add(culprit)
            other = TOKEN_FIELDS[1 - TOKEN_FIELDS.index(culprit)]
            if other in model.refused_token_fields:
                return False
            model.token_field = other
            return True
        if culprit in model.dropped:
            return False
        model.dropped.add(culprit)
        return True


_REFUSAL = re.compile(
    r"unsupported|unrecogni[sz]ed|not supported|unknown|extra|not permitted|not allowed|invalid", re.IGNORECASE
)
"""A 400 about a field's existence, not its value being too large (vLLM names ``max_tokens`` in both)."""


def _culprit(sent: dict[str, Any], error: dict[str, Any] | None, text: str) -> str | None:
    """The optional field of ``sent`` the upstream's 400 is about: its ``param``, or a quoted name in the
    message ("Unsupported parameter: 'max_tokens'...", "Unrecognized request argument supplied:
    max_completion_tokens", pydantic's "extra_forbidden" with the field in ``loc``)."""
    candidates = [f for f in (*TOKEN_FIELDS, *DROPPABLE) if f in sent]
    param = (error or {}).get("param")
    if isinstance(param, str) and param in candidates:
        return param
    for name in candidates:
        if re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", text):
            return name
    return None
