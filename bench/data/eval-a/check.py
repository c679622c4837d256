"""Verify eval set A: every answer is a verbatim span of its own file's extracted text, and of no other.

Run from the repository root with the project's venv:  .venv/bin/python bench/data/eval-a/check.py
Prints OK (and a per-file / per-format count) when every check passes; otherwise lists the problems and exits 1.
"""

from __future__ import annotations

import collections
import json
import re
import sys
import unicodedata
from pathlib import Path

from assistantd.retrieval.extract import extract_text

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
QUESTIONS = HERE / "questions.jsonl"


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).lower().replace("\u00ad", "")
    s = re.sub(r"-\n\s*", "", s)
    return " ".join(re.findall(r"[a-z0-9]+", s))


def main() -> int:
    problems: list[str] = []
    docs = sorted(p for p in DOCS.iterdir() if p.is_file())
    texts = {p.name: " " + norm(extract_text(p.read_bytes(), p.name)) + " " for p in docs}
    size = sum(p.stat().st_size for p in docs)
    if size > 3 * 1024 * 1024:
        problems.append(f"docs/ is {size} bytes, over 3 MB")

    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not 55 <= len(rows) <= 65:
        problems.append(f"{len(rows)} questions, want 55-65")
    per_file: collections.Counter[str] = collections.Counter()
    seen_answers: set[str] = set()
    for n, row in enumerate(rows, 1):
        if set(row) != {"question", "answer", "file"}:
            problems.append(f"line {n}: keys {sorted(row)}")
            continue
        file, answer = row["file"], norm(row["answer"])
        per_file[file] += 1
        words = len(answer.split())
        if not 6 <= words <= 30:
            problems.append(f"line {n}: answer has {words} words")
        if file not in texts:
            problems.append(f"line {n}: no such doc {file!r}")
            continue
        if answer in seen_answers:
            problems.append(f"line {n}: duplicate answer")
        seen_answers.add(answer)
        # Substring counts (what the bench's relevance test uses), over every file of the corpus.
        hits = {name: text.count(answer) for name, text in texts.items() if answer in text}
        if file not in hits:
            problems.append(f"line {n}: answer not found in {file}: {row['answer']!r}")
        elif sum(hits.values()) != 1:
            problems.append(f"line {n}: answer occurs {hits} (must be once, in {file} only)")

    for name in texts:
        if per_file[name] == 0:
            problems.append(f"{name} has no questions")
    per_format: collections.Counter[str] = collections.Counter()
    for name, count in per_file.items():
        per_format[Path(name).suffix.lstrip(".")] += count
    for fmt in ("html", "pdf"):
        if per_format[fmt] < 10:
            problems.append(f"only {per_format[fmt]} questions on {fmt} files")
    for fmt in ("md", "txt"):
        if per_format[fmt] < 1:
            problems.append(f"no questions on {fmt} files")

    if problems:
        print("\n".join(problems))
        print(f"FAILED: {len(problems)} problem(s)")
        return 1
    print(f"{len(rows)} questions over {len(texts)} files ({size} bytes)")
    for name in sorted(per_file):
        print(f"  {name}: {per_file[name]}")
    print("  by format: " + ", ".join(f"{fmt} {count}" for fmt, count in sorted(per_format.items())))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
