"""Check evaluation set B: every answer is a span of its own file's extracted text, and of no other file.

Run from the repository root: ``.venv/bin/python bench/data/eval-b/check.py``; prints ``OK`` or the problems.
The matching rule is the bench's: a result is relevant when ``norm(answer)`` is in ``norm(result text)``.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from assistantd.retrieval.extract import extract_text

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
QUESTIONS = HERE / "questions.jsonl"
MAX_DOCS_BYTES = 3 * 1024 * 1024


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower().replace("\u00ad", "")
    s = re.sub(r"-\n\s*", "", s)
    return " ".join(re.findall(r"[a-z0-9]+", s))


def main() -> int:
    problems: list[str] = []
    files = sorted(p for p in DOCS.iterdir() if p.is_file())
    texts = {p.name: norm(extract_text(p.read_bytes(), p.name)) for p in files}

    if not 6 <= len(files) <= 12:
        problems.append(f"{len(files)} documents; expected 6-12")
    size = sum(p.stat().st_size for p in files)
    if size > MAX_DOCS_BYTES:
        problems.append(f"docs/ holds {size} bytes; at most {MAX_DOCS_BYTES}")
    suffixes = Counter(p.suffix for p in files)
    for suffix, least in ((".html", 2), (".pdf", 2), (".md", 1), (".txt", 1)):
        if suffixes[suffix] < least:
            problems.append(f"{suffixes[suffix]} {suffix} files; need at least {least}")

    lines = [line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not 55 <= len(lines) <= 65:
        problems.append(f"{len(lines)} questions; expected 55-65")
    per_file: Counter[str] = Counter()
    per_format: Counter[str] = Counter()
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        item = json.loads(line)
        if set(item) != {"question", "answer", "file"}:
            problems.append(f"line {number}: keys {sorted(item)}")
            continue
        name, answer = item["file"], norm(item["answer"])
        per_file[name] += 1
        per_format[Path(name).suffix] += 1
        words = len(answer.split())
        if not 6 <= words <= 30:
            problems.append(f"line {number}: answer has {words} words")
        if name not in texts:
            problems.append(f"line {number}: no document {name!r}")
            continue
        if answer in seen:
            problems.append(f"line {number}: answer repeated")
        seen.add(answer)
        occurrences = texts[name].count(answer)
        if occurrences != 1:
            problems.append(f"line {number}: answer occurs {occurrences} times in {name}")
        others = [other for other, text in texts.items() if other != name and answer in text]
        if others:
            problems.append(f"line {number}: answer also in {others}")

    for name in texts:
        if per_file[name] == 0:
            problems.append(f"{name} has no questions")
    for suffix in (".html", ".pdf"):
        if per_format[suffix] < 10:
            problems.append(f"{per_format[suffix]} questions on {suffix} files; need at least 10")

    for problem in problems:
        print(problem)
    if problems:
        return 1
    counts = ", ".join(f"{name}={per_file[name]}" for name in sorted(texts))
    print(f"{len(lines)} questions over {len(files)} documents ({size} bytes): {counts}")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
