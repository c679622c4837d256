"""``file_citation`` annotations for an answer, from the chunks file_search returned during the run.

Two sources, as OpenAI's answers had them:

* **markers the model wrote**, ``【4:0†manual.pdf】`` (or ``【0†source】``): kept in the text, annotated
  with the cited file — found by the file name inside the marker, else by the result numbers;
* **grounded sentences without a marker** (small models never write markers): a sentence whose content
  words are mostly found in one retrieved chunk gets a marker ``【i†file name】`` inserted after it, and
  that marker is annotated. So every app that renders citations by replacing ``annotation.text`` works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistantd.retrieval.fusion import STOPWORDS, words

MARKER = re.compile(r"【(?:(\d+):)?(\d+)†([^】]*)】")
_SENTENCE = re.compile(r"[^.!?\n]*[^\s.!?\n][^.!?\n]*(?:[.!?]+(?=\s|$|【)|(?=\n)|$)")
MIN_COVERAGE = 0.6
MIN_SHARED = 2


@dataclass(frozen=True)
class Source:
    """One retrieved result: which call and position found it, and its words."""

    call: int
    index: int
    file_id: str
    file_name: str
    terms: frozenset[str]


def _terms(text: str) -> list[str]:
    out = []
    for w in words(text):
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def sources(tool_calls: list[dict[str, Any]]) -> list[Source]:
    out = []
    for call_no, call in enumerate(tool_calls):
        for i, result in enumerate((call.get("file_search") or {}).get("results") or []):
            text = " ".join(part.get("text", "") for part in result.get("content") or [])
            out.append(Source(call_no, i, result["file_id"], result.get("file_name", ""), frozenset(_terms(text))))
    return out


def marker(source: Source) -> str:
    return f"【{source.index}†{source.file_name}】"


def citation(text: str, start: int, file_id: str) -> dict[str, Any]:
    return {
        "type": "file_citation",
        "text": text,
        "start_index": start,
        "end_index": start + len(text),
        "file_citation": {"file_id": file_id},
    }


def _resolve(match: re.Match[str], found: list[Source]) -> Source | None:
    call, index, name = match.group(1), int(match.group(2)), match.group(3).strip()
    by_name = [s for s in found if s.file_name and s.file_name == name]
    if by_name:
        return next((s for s in by_name if s.index == index), by_name[0])
    calls = sorted({s.call for s in found})
    if not calls:
        return None
    wanted = int(call) if call is not None and int(call) in calls else calls[-1]
    return next((s for s in found if s.call == wanted and s.index == index), None)


def _grounding(sentence: str, found: list[Source]) -> Source | None:
    terms = set(_terms(sentence))
    if len(terms) < MIN_SHARED:
        return None
    best, best_cover = None, 0.0
    for source in found:
        shared = len(terms & source.terms)
        cover = shared / len(terms)
        if shared >= MIN_SHARED and cover > best_cover:
            best, best_cover = source, cover
    return best if best_cover >= MIN_COVERAGE else None


def annotate(text: str, tool_calls: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The answer with markers inserted after grounded sentences, and every citation's annotation."""
    found = sources(tool_calls)
    if not found:
        return text, []
    cited_until = [m.end() for m in MARKER.finditer(text)]
    inserts: list[tuple[int, str, str]] = []  # (position in the original text, marker, file_id)
    for sentence in _SENTENCE.finditer(text):
        end = sentence.end()
        if any(sentence.start() <= pos and pos - end <= 2 for pos in cited_until):
            continue  # the model cited this sentence itself
        source = _grounding(MARKER.sub("", sentence.group()), found)
        if source is not None:
            inserts.append((end, marker(source), source.file_id))
    inserts.sort(key=lambda x: x[0])
    annotations: list[dict[str, Any]] = []
    pieces: list[str] = []
    shift, last = 0, 0
    for pos, mark, file_id in inserts:
        pieces.append(text[last:pos])
        pieces.append(mark)
        annotations.append(citation(mark, pos + shift, file_id))
        shift += len(mark)
        last = pos
    pieces.append(text[last:])
    for match in MARKER.finditer(text):
        source = _resolve(match, found)
        if source is not None:
            before = sum(len(mark) for pos, mark, _ in inserts if pos <= match.start())
            annotations.append(citation(match.group(), match.start() + before, source.file_id))
    return "".join(pieces), sorted(annotations, key=lambda a: int(a["start_index"]))
