"""The schema of ``PostgresIndex`` and the helpers that make its BM25 match ``SqliteIndex``'s.

Tokens: FTS5's ``unicode61 remove_diacritics 2`` (case and diacritics folded, every run of letters and
digits a token, everything else a separator) is applied here, in Python, and PostgreSQL only stems the
space-separated tokens (``retrieval_english``: the default parser, Snowball English *without* stopwords,
numbers as they are), so both indexes count the same tokens and nearly the same terms.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Result

from assistantd.retrieval import fusion
from assistantd.store.db import Conn, DatabaseUnreachable

LOCK_KEY = 0x61737369_7264_4958 & 0x7FFF_FFFF_FFFF_FFFF
"""``pg_advisory_xact_lock`` key of the index's DDL (schema creation, a new vector dimension's index)."""
CONFIG = "retrieval_english"
STEM = "retrieval_english_stem"

_STEMMED = "asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart"
_AS_IS = "email, url, host, sfloat, version, float, int, uint, url_path, file"

SCHEMA = [
    "create sequence if not exists retrieval_generation",
    """create table if not exists retrieval_files(
        store_id text not null, file_id text not null, filename text not null, attributes jsonb not null,
        primary key (store_id, file_id))""",
    """create table if not exists retrieval_chunks(
        id bigint generated always as identity primary key, store_id text not null, file_id text not null,
        chunk_index integer not null, text text not null, doc_len integer not null, tsv tsvector not null,
        dims integer, embedding vector, window_first integer, window_end integer)""",
    "create index if not exists retrieval_chunks_by_file on retrieval_chunks(store_id, file_id, chunk_index)",
    "create index if not exists retrieval_chunks_tsv on retrieval_chunks using gin (tsv)",
    """create table if not exists retrieval_windows(
        store_id text not null, file_id text not null, position integer not null, vector bytea not null,
        primary key (store_id, file_id, position))""",
    "create table if not exists retrieval_embeddings(key bytea primary key, vector bytea not null)",
    """create table if not exists retrieval_stats(
        store_id text primary key, chunks bigint not null, tokens bigint not null)""",
]
"""``retrieval_stats``: per store, its chunks and their tokens (BM25's N and average length, summed over
stores as FTS5 counts its whole table); ``retrieval_generation`` advances with every write (the key of
the cached document frequencies)."""

_CONFIG_DDL = [
    f"create text search dictionary {STEM} (template = snowball, language = english)",
    f"create text search configuration {CONFIG} (parser = default)",
    f"alter text search configuration {CONFIG} add mapping for {_STEMMED} with {STEM}",
    f"alter text search configuration {CONFIG} add mapping for {_AS_IS} with simple",
]


def hnsw_ddl(dims: int) -> str:
    return (
        f"create index if not exists retrieval_chunks_hnsw_{dims} on retrieval_chunks "
        f"using hnsw ((embedding::vector({dims})) vector_cosine_ops) where dims = {dims}"
    )


async def create_schema(conn: Conn) -> None:
    """Every table and index, idempotently (the caller holds the advisory lock)."""
    from sqlalchemy import text

    have = await conn.execute(text("select exists(select 1 from pg_extension where extname = 'vector')"))
    if not have.scalar():
        available = await conn.execute(
            text("select exists(select 1 from pg_available_extensions where name = 'vector')")
        )
        if not available.scalar():
            raise DatabaseUnreachable(
                "the database has no pgvector extension: install pgvector on the PostgreSQL server "
                "(https://github.com/pgvector/pgvector) or run `create extension vector` as a superuser"
            )
        from sqlalchemy.exc import DBAPIError

        try:
            await conn.execute(text("create extension if not exists vector"))
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise DatabaseUnreachable(
                f"the database has no pgvector extension and this role cannot create it ({reason}): "
                "run `create extension vector` in this database as a superuser"
            ) from None
    for statement in SCHEMA:
        await conn.execute(text(statement))
    exists = await conn.execute(text("select exists(select 1 from pg_ts_config where cfgname = :c)"), {"c": CONFIG})
    if not exists.scalar():
        for statement in _CONFIG_DDL:
            await conn.execute(text(statement))


B = 0.75
"""FTS5's BM25 ``b`` (``k1`` is ``fusion.K1``)."""
BM25 = f"""
-- FTS5's bm25(): sum over the query's terms of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl)),
-- |D| the chunk's tokens + 1 (FTS5 also counts the store's scope token). tf: how many positions the term's
-- lexeme has in the tsvector (setweight marks the query's lexemes, ts_filter keeps only them).
with q(lexeme, idf) as (select * from unnest(cast(:lexemes as text[]), cast(:idfs as float8[])))
select c.id,
    sum(q.idf * (t.tf * {fusion.K1 + 1}) / (t.tf + {fusion.K1} * ({1 - B} + {B} * (c.doc_len + 1) / :avgdl))) as bm25
from retrieval_chunks c
cross join lateral (
    select u.lexeme, coalesce(array_length(u.positions, 1), 1) as tf
    from unnest(ts_filter(setweight(c.tsv, 'A', cast(:lexemes as text[])), '{{{{a}}}}')) u
) t
join q on q.lexeme = t.lexeme
where c.store_id = :store and c.tsv @@ cast(:tsquery as tsquery) {{files}}
group by c.id order by bm25 desc, c.id limit :limit
"""

INSERT_CHUNK = (
    "insert into retrieval_chunks(store_id, file_id, chunk_index, text, doc_len, tsv, dims, "
    "embedding, window_first, window_end) values (:store, :file, :i, :text, :len, "
    f"to_tsvector('{CONFIG}', :words), :dims, cast(:embedding as vector), :first, :end)"
)

WINDOWS = (
    # Key by key (offset 0 keeps each lateral a parameterized index scan, whatever the statistics say):
    # the reranker asks for a few dozen chunks of a store of any size.
    "select k.file_id, k.chunk_index, w.vector "
    "from unnest(cast(:files as text[]), cast(:indexes as integer[])) as k(file_id, chunk_index) "
    "cross join lateral (select c.window_first, c.window_end from retrieval_chunks c "
    "where c.store_id = :store and c.file_id = k.file_id and c.chunk_index = k.chunk_index "
    "offset 0) c "
    "cross join lateral (select w.position, w.vector from retrieval_windows w "
    "where w.store_id = :store and w.file_id = k.file_id "
    "and w.position >= c.window_first and w.position < c.window_end offset 0) w "
    "order by k.file_id, k.chunk_index, w.position"
)


_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """FTS5 ``unicode61 remove_diacritics 2`` tokens (approximately: NFKD folding stands in for its tables)."""
    text = text.lower()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _TOKEN.findall(text)


def clean(text: str) -> str:
    """PostgreSQL ``text`` cannot hold U+0000."""
    return text.replace("\x00", "")


def vector_literal(vector: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.9g}" for x in vector.astype(np.float32).tolist()) + "]"


def tsquery_literal(lexemes: list[str]) -> str:
    """The lexemes OR-ed, as ``tsquery`` input (each quoted: no operator inside one is read)."""
    return " | ".join("'" + lex.replace("\\", "\\\\").replace("'", "''") + "'" for lex in lexemes)


def rows(result: Result[Any]) -> list[Any]:
    """The rows as plain tuples (``Conn.execute`` is typed for one column)."""
    return list(result)


def one(result: Result[Any]) -> Any:
    return result.one()


def cosine(distance: Any) -> float:
    value = 1.0 - float(distance) if distance is not None else 0.0
    return 0.0 if math.isnan(value) else value


def dumps(value: dict[str, Any]) -> str:
    """Attributes as ``jsonb`` input (which cannot hold U+0000 either)."""
    import orjson

    return orjson.dumps(_cleaned(value)).decode()


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    return value
