"""``file_citation`` annotations for an answer, from the chunks file_search returned during the run.

Two sources, as OpenAI's answers had them:

* **markers the model wrote**, ``【4:0†manual.pdf】`` (or ``【0†source】``): kept in the text, annotated
  with the cited file — found by the file name inside the marker, else by the result numbers. A sentence
  the model cited (a marker inside it, or right after it) gets nothing more;
* **grounded sentences without a marker** (small models never write markers): a sentence whose content
  words are mostly found in one retrieved chunk gets a marker ``【i†file name】`` inserted after it, and
  that marker is annotated. So every app that renders citations by replacing ``annotation.text`` works.

Each annotation names the file (``file_citation.file_id``; the Responses wire adds its ``filename``) and, in
the Assistants wire, quotes the chunk the cited sentence rests on (``file_citation.quote``, a field the
SDK's delta annotation still declares): the chunk's text when it is at most ``MAX_QUOTE`` characters, else
the passage of whole sentences, at most ``MAX_QUOTE`` long, around the chunk's sentence sharing the most
words with the cited one. The quote is verbatim, a substring of the result's ``content`` text, which the
run step shows whole with ``include[]=step_details.tool_calls[*].file_search.results[*].content``.

``Citer`` does this while the answer streams: text passes through at once, except what follows a
sentence's end (held until the next characters show whether the model cites it) and a marker still
being written. What it lets out is final: the streamed text is the stored text, and every annotation
points into text already sent. ``annotate`` runs the same on a whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistantd.retrieval.fusion import STOPWORDS, words

MARKER = re.compile(r"【(?:(\d+):)?(\d+)†([^】]*)】")
_MARKER_PREFIX = re.compile(r"【\d*(?::\d*)?(?:†[^】]*)?")
"""What a marker still being written looks like (matched against the rest of the text)."""
MAX_MARKER = 256
"""A ``【`` not closed within this many characters is text, not a marker: nothing is held back longer."""
_TERMINATORS = ".!?"
_GAP = " \t"
MAX_GAP = 2
"""A marker at most this many spaces after a sentence's end cites that sentence."""
MIN_COVERAGE = 0.6
MIN_SHARED = 2
MAX_QUOTE = 1000
"""Characters of the cited chunk an annotation quotes (its ``content`` has the whole chunk)."""
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n\s*")


@dataclass(frozen=True)
class Source:
    """One retrieved result: which call and position found it, and its words."""

    call: int
    index: int
    file_id: str
    file_name: str
    terms: frozenset[str]
    text: str = ""
    """The chunk's text, what the citation quotes."""


@dataclass(frozen=True)
class Piece:
    """What to stream next: text, or an annotation on text already streamed."""

    text: str = ""
    annotation: dict[str, Any] | None = None


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
            name = result.get("file_name", "")
            out.append(Source(call_no, i, result["file_id"], name, frozenset(_terms(text)), text))
    return out


def quote(chunk: str, sentence: str) -> str:
    """What a citation of ``sentence`` quotes from ``chunk``: all of it when short, else the passage around
    the chunk's sentence that shares the most words with ``sentence`` (its start when none does)."""
    text = chunk.strip()
    if len(text) <= MAX_QUOTE:
        return text
    spans, start = [], 0
    for m in _SENTENCE_BREAK.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    wanted = set(_terms(sentence))
    shared = [len(wanted & set(_terms(text[a:b]))) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (shared[i], -i))
    lo, hi = spans[best]
    if hi - lo > MAX_QUOTE:  # one long sentence: its first words
        cut = text.rfind(" ", lo, lo + MAX_QUOTE + 1)
        return text[lo : cut if cut > lo else lo + MAX_QUOTE].rstrip()
    first = last = best
    grew = True
    while grew:
        grew = False
        if last + 1 < len(spans) and spans[last + 1][1] - lo <= MAX_QUOTE:
            last += 1
            hi = spans[last][1]
            grew = True
        if first > 0 and hi - spans[first - 1][0] <= MAX_QUOTE:
            first -= 1
            lo = spans[first][0]
            grew = True
    return text[lo:hi]


def marker(source: Source) -> str:
    return f"【{source.index}†{source.file_name}】"


def citation(text: str, start: int, file_id: str, quoted: str | None = None) -> dict[str, Any]:
    """An Assistants ``file_citation`` annotation of ``text`` at ``start``, quoting ``quoted`` if given."""
    cited: dict[str, Any] = {"file_id": file_id}
    if quoted is not None:
        cited["quote"] = quoted
    return {
        "type": "file_citation",
        "text": text,
        "start_index": start,
        "end_index": start + len(text),
        "file_citation": cited,
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


class Citer:
    """Cites an answer as it streams (see the module docstring). ``feed`` each fragment, then ``finish``;
    each returns the pieces to send now. ``text`` and ``annotations`` are what was sent so far."""

    def __init__(self, found: list[Source], *, insert: bool = True) -> None:
        self.found = found
        self.insert = insert
        """False: only annotate the model's markers (a JSON answer must stay JSON)."""
        self.text = ""
        self.annotations: list[dict[str, Any]] = []
        self._raw = ""  # what the model wrote
        self._sent = 0  # raw[:_sent] has been let out
        self._scan = 0  # raw[:_scan] has been looked at
        self._sentence = 0  # where the current sentence starts in raw
        self._cited = False  # the model put a marker in the current sentence
        self._end: int | None = None  # the current sentence ended here; what follows is not known yet

    def feed(self, fragment: str) -> list[Piece]:
        self._raw += fragment
        return self._advance(final=False)

    def finish(self) -> list[Piece]:
        return self._advance(final=True)

    def _advance(self, final: bool) -> list[Piece]:
        out: list[Piece] = []
        raw = self._raw
        while True:
            if self._end is not None:
                if not self._close_sentence(out, final):
                    break
                continue
            i = self._scan
            if i >= len(raw):
                break
            c = raw[i]
            if c == "【":
                match = self._marker_at(i)
                if match is None and self._marker_coming(i, final):
                    break
                if match is None:
                    self._scan = i + 1
                    continue
                self._let_out(out, i)
                self._model_marker(out, match)
                self._cited = True
            elif c in _TERMINATORS:
                j = i
                while j < len(raw) and raw[j] in _TERMINATORS:
                    j += 1
                if j == len(raw) and not final:
                    self._scan = i  # look at the run again with what follows it
                    self._let_out(out, j)  # the run itself can go: a marker would come after it
                    break
                following = raw[j] if j < len(raw) else ""
                self._scan = j
                if not following or following.isspace() or following == "【":
                    self._end = j
            elif c == "\n":
                self._scan = i + 1
                self._end = i
            else:
                self._scan = i + 1
        self._let_out(out, self._scan if self._end is None else self._end)
        return out

    def _marker_at(self, i: int) -> re.Match[str] | None:
        """The complete marker at ``i``, if there is one."""
        match = MARKER.match(self._raw, i)
        return match if match is not None and match.end() - i <= MAX_MARKER else None

    def _marker_coming(self, i: int, final: bool) -> bool:
        """The text from ``i`` on may be the start of a marker still being written."""
        raw = self._raw
        return not final and len(raw) - i <= MAX_MARKER and _MARKER_PREFIX.fullmatch(raw, i) is not None

    def _close_sentence(self, out: list[Piece], final: bool) -> bool:
        """Decide the sentence that ended at ``_end``: cited by a marker right after it, or cite it.
        False when the text that decides has not arrived yet."""
        assert self._end is not None
        raw, end = self._raw, self._end
        k = end
        while k < len(raw) and k - end < MAX_GAP and raw[k] in _GAP:
            k += 1
        if k == len(raw) and not final:
            self._let_out(out, end)
            return False
        if k < len(raw) and raw[k] == "【":
            match = self._marker_at(k)
            if match is None and self._marker_coming(k, final):
                self._let_out(out, end)
                return False
            if match is not None:
                self._let_out(out, k)
                self._model_marker(out, match)
                self._start_sentence(match.end())
                return True
        self._let_out(out, end)
        if not self._cited and self.insert:
            sentence = MARKER.sub("", raw[self._sentence : end])
            source = _grounding(sentence, self.found)
            if source is not None:
                self._cite(out, marker(source), source, sentence)
        self._start_sentence(end)
        if raw[end : end + 1] == "\n":
            self._scan = end + 1
        return True

    def _start_sentence(self, at: int) -> None:
        self._end = None
        self._sentence = at
        self._scan = max(self._scan, at)
        self._cited = False

    def _let_out(self, out: list[Piece], upto: int) -> None:
        """Send the model's text up to ``upto``: everything before it has been decided."""
        if upto > self._sent:
            piece = self._raw[self._sent : upto]
            out.append(Piece(text=piece))
            self.text += piece
            self._sent = upto

    def _model_marker(self, out: list[Piece], match: re.Match[str]) -> None:
        source = _resolve(match, self.found)
        self._sent = match.end()
        self._scan = max(self._scan, match.end())
        if source is None:
            out.append(Piece(text=match.group()))
            self.text += match.group()
        else:
            self._cite(out, match.group(), source, MARKER.sub("", self._raw[self._sentence : match.start()]))

    def _cite(self, out: list[Piece], mark: str, source: Source, sentence: str) -> None:
        annotation = citation(mark, len(self.text), source.file_id, quote(source.text, sentence))
        out.append(Piece(text=mark))
        out.append(Piece(annotation={"index": len(self.annotations), **annotation}))
        self.text += mark
        self.annotations.append(annotation)


def annotate(text: str, tool_calls: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The answer with markers inserted after grounded sentences, and every citation's annotation."""
    found = sources(tool_calls)
    if not found:
        return text, []
    citer = Citer(found)
    citer.feed(text)
    citer.finish()
    return citer.text, citer.annotations
