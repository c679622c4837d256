"""Query terms and score fusion: how BM25 and cosine similarity become one score in [0, 1].

* keyword part: FTS5's BM25 divided by its ceiling for the query, ``Σ idf(t)·(k1+1)`` over the query's
  terms, so it lies in [0, 1) whatever the corpus (a chunk holding every term often scores ~0.5–0.7);
* vector part: cosine similarity clipped to [0, 1];
* hybrid: ``α·vector + (1-α)·keyword`` with α = 0.7 (a convex combination of two absolute scores: a result that is
  relevant to neither gets a low score, so ``score_threshold`` means what it says). ``bench/file_search.py``
  compares it with reciprocal-rank fusion on a labelled question set.
"""

from __future__ import annotations

import math
import re

K1 = 1.2
HYBRID_ALPHA = 0.7
"""Weight of the vector part: paraphrased questions share few words with their answers (chosen on
``bench/retrieval_quality.py``)."""

_STOPWORDS = """
# noqa: SIM905 a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my myself
no nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very was
we were what when where which while who whom why will with would you your yours yourself yourselves tell
please explain describe give show find know
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def keywords(text: str) -> list[str]:
    """The query's distinct words without stopwords (all of them if nothing else is left)."""
    every = list(dict.fromkeys(words(text)))
    kept = [w for w in every if w not in STOPWORDS]
    return kept or every


def rewrite(text: str) -> str:
    """``rewrite_query``: the query reduced to its keywords (no language model involved)."""
    return " ".join(keywords(text)) or text


def idf(docs: int, containing: int) -> float:
    """FTS5's BM25 IDF (floored as FTS5 floors it)."""
    value = math.log((docs - containing + 0.5) / (containing + 0.5))
    return max(value, 1e-6)


def keyword_score(bm25: float, idf_sum: float) -> float:
    if idf_sum <= 0 or bm25 <= 0:
        return 0.0
    return min(bm25 / (idf_sum * (K1 + 1)), 1.0)


def vector_score(cosine: float) -> float:
    return min(max(cosine, 0.0), 1.0)


def hybrid(keyword: float | None, vector: float | None, alpha: float = HYBRID_ALPHA) -> float:
    """One score from the parts a search has (None: that side did not run)."""
    if keyword is None:
        return vector or 0.0
    if vector is None:
        return keyword
    return alpha * vector + (1 - alpha) * keyword


def reciprocal_rank(ranks: list[int | None], k: int = 60) -> float:
    """Reciprocal-rank fusion of 0-based ranks (None: absent from that list), normalised to [0, 1]."""
    total = sum(1 / (k + 1 + r) for r in ranks if r is not None)
    return total / (len(ranks) / (k + 1))
