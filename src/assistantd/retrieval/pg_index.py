"""``PostgresIndex``: the ``SearchIndex`` (and ``EmbeddingCache``) of a PostgreSQL deployment, in the main
database: full-text search for keywords, pgvector for similarity.

Tables (``_pg.py`` creates them on first use, under an advisory lock): ``retrieval_chunks`` (one row per
chunk: its text, a ``tsvector`` under a GIN index, its token count, an untyped ``vector`` with its
``dims``, its span of windows), ``retrieval_files`` (name and attributes, for filters),
``retrieval_windows`` (float16 window vectors for the reranker), ``retrieval_embeddings`` (the embedding
cache) and ``retrieval_stats`` (chunks and tokens per store). Each vector dimension gets its own partial
HNSW index on ``embedding::vector(N) where dims = N``, created when a file of that dimension first
arrives; searches cast the same way so the planner can use it (or scan a small store exactly).

Keyword scores are FTS5's BM25, computed in SQL from the same statistics FTS5 uses (rows and tokens of
the whole index, each term's document frequency, the chunk's term frequency from the ``tsvector``
positions and its length), so ``fusion.keyword_score`` normalises them as it does ``SqliteIndex``'s and
the two rank alike. Filters are evaluated in Python (``filters.matches``, exactly as SQLite does) and the
allowed files pushed into SQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from assistantd.retrieval import _pg, fusion
from assistantd.retrieval.filters import matches
from assistantd.retrieval.index import Hit, IndexedFile, SearchQuery
from assistantd.store.db import Conn, Database

F32 = npt.NDArray[np.float32]
POSTINGS_BUDGET = 3_000
"""As ``sqlite_index.POSTINGS_BUDGET``: the most common query terms are dropped beyond it."""
ANALYZE_GROWTH = 0.2
ANALYZE_MIN_CHUNKS = 1_000
"""The chunks table's statistics are refreshed (``analyze``) once this process has written this share of the
rows the last refresh counted, and at least this many chunks. With statistics from before a bulk load, the
planner believes a store holds a handful of chunks and ranks every one of them for a vector search (50 ms at
20,000 chunks) instead of walking the HNSW index (7 ms); autovacuum would notice only a minute later."""
DF_TTL = 10.0
"""Seconds a cached document frequency is trusted even when the generation has not moved (another
process may have committed after this one read the generation)."""


class PostgresIndex:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False
        self._open_lock = asyncio.Lock()
        self._dims: set[int] = set()
        self._lexemes: dict[str, list[str]] = {}
        self._df: dict[str, int] = {}
        self._df_key: tuple[int, float] = (-1, 0.0)
        self._unanalyzed = 0
        self._analyzed_rows = 0.0

    async def open(self) -> None:
        """Create the schema if needed (idempotent; many processes may start at once)."""
        if self._ready:
            return
        async with self._open_lock:
            if self._ready:
                return
            async with self.db.write() as conn:
                await conn.execute(text("select set_config('lock_timeout', '60s', true)"))
                await conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _pg.LOCK_KEY})
                await _pg.create_schema(conn)
            self._ready = True

    def close(self) -> None:
        """Nothing to release: the connections are the ``Database``'s."""

    async def _dimension(self, dims: int) -> None:
        if dims in self._dims:
            return
        async with self.db.write() as conn:
            await conn.execute(text("select set_config('lock_timeout', '60s', true)"))
            await conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _pg.LOCK_KEY})
            await conn.execute(text(_pg.hnsw_ddl(dims)))
        self._dims.add(dims)

    def _written(self) -> None:
        self._df.clear()
        self._df_key = (-1, 0.0)

    # --- writes ---------------------------------------------------------------------------------------

    async def put_file(self, store_id: str, file: IndexedFile) -> None:
        await self.open()
        vectors = file.vectors
        dims = None if vectors is None else int(vectors.shape[1])
        if dims is not None:
            await self._dimension(dims)
        spans: Sequence[tuple[int | None, int | None]] = file.spans or [(None, None)] * len(file.texts)
        rows, tokens = [], 0
        for i, (chunk, (first, end)) in enumerate(zip(file.texts, spans, strict=True)):
            words = _pg.tokens(chunk)
            tokens += len(words)
            rows.append(
                {
                    "store": store_id,
                    "file": file.file_id,
                    "i": i,
                    "text": _pg.clean(chunk),
                    "len": len(words),
                    "words": " ".join(words),
                    "dims": dims,
                    "embedding": None if vectors is None else _pg.vector_literal(vectors[i]),
                    "first": first,
                    "end": end,
                }
            )
        async with self.db.write() as conn:
            # The file's row first: its lock makes a concurrent put of the same file wait, then delete
            # what this one inserted (no duplicate chunks).
            await conn.execute(
                text(
                    "insert into retrieval_files values (:store, :file, :name, cast(:attributes as jsonb)) "
                    "on conflict (store_id, file_id) do update set filename = excluded.filename, "
                    "attributes = excluded.attributes"
                ),
                {
                    "store": store_id,
                    "file": file.file_id,
                    "name": _pg.clean(file.filename),
                    "attributes": _pg.dumps(file.attributes),
                },
            )
            removed = await self._delete_rows(conn, store_id, file.file_id, files=False)
            if rows:
                await conn.execute(
                    text(_pg.INSERT_CHUNK),
                    rows,
                )
            if file.windows is not None and file.spans is not None:
                windows = [
                    {"store": store_id, "file": file.file_id, "p": p, "v": v.tobytes()}
                    for p, v in enumerate(file.windows.astype(np.float16))
                ]
                if windows:
                    await conn.execute(
                        text("insert into retrieval_windows values (:store, :file, :p, :v)"),
                        windows,
                    )
            await self._count(conn, store_id, len(rows) - removed[0], tokens - removed[1])
        self._written()
        await self._keep_statistics(len(rows))

    async def _keep_statistics(self, written: int) -> None:
        self._unanalyzed += written
        if self._unanalyzed < max(ANALYZE_MIN_CHUNKS, ANALYZE_GROWTH * self._analyzed_rows):
            return
        self._unanalyzed = 0
        async with self.db.write() as conn:
            await conn.execute(text("analyze retrieval_chunks"))
            counted = await conn.execute(
                text("select reltuples from pg_class where oid = 'retrieval_chunks'::regclass")
            )
            self._analyzed_rows = max(0.0, float(counted.scalar() or 0.0))

    async def _delete_rows(
        self, conn: Conn, store_id: str, file_id: str | None, *, files: bool = True
    ) -> tuple[int, int]:
        """Deletes the file's (or store's) rows (``files``: its ``retrieval_files`` row too); returns the
        chunks and tokens removed."""
        where, args = "store_id = :store", {"store": store_id}
        if file_id is not None:
            where += " and file_id = :file"
            args["file"] = file_id
        result = await conn.execute(
            text(
                f"with gone as (delete from retrieval_chunks where {where} returning doc_len) "
                "select count(*), coalesce(sum(doc_len), 0) from gone"
            ),
            args,
        )
        count, tokens = _pg.one(result)
        await conn.execute(text(f"delete from retrieval_windows where {where}"), args)
        if files:
            await conn.execute(text(f"delete from retrieval_files where {where}"), args)
        return int(count), int(tokens)

    async def _count(self, conn: Conn, store_id: str, chunks: int, tokens: int) -> None:
        """Last in a write transaction: the store's statistics row is locked until the commit."""
        await conn.execute(
            text(
                "insert into retrieval_stats values (:store, :chunks, :tokens) on conflict (store_id) do update "
                "set chunks = retrieval_stats.chunks + excluded.chunks, tokens = retrieval_stats.tokens + "
                "excluded.tokens"
            ),
            {"store": store_id, "chunks": chunks, "tokens": tokens},
        )
        await conn.execute(text("select nextval('retrieval_generation')"))

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, Any]) -> None:
        await self.open()
        async with self.db.write() as conn:
            await conn.execute(
                text(
                    "update retrieval_files set attributes = cast(:attributes as jsonb) "
                    "where store_id = :store and file_id = :file"
                ),
                {"attributes": _pg.dumps(attributes), "store": store_id, "file": file_id},
            )

    async def delete(self, store_id: str, file_id: str | None = None) -> None:
        await self.open()
        async with self.db.write() as conn:
            chunks, tokens = await self._delete_rows(conn, store_id, file_id)
            if file_id is None:
                await conn.execute(text("delete from retrieval_stats where store_id = :store"), {"store": store_id})
                await conn.execute(text("select nextval('retrieval_generation')"))
            else:
                await self._count(conn, store_id, -chunks, -tokens)
        self._written()

    async def windows(self, store_id: str, chunks: list[tuple[str, int]]) -> dict[tuple[str, int], F32]:
        if not chunks:
            return {}
        await self.open()
        async with self.db.read() as conn:
            result = await conn.execute(
                text(_pg.WINDOWS),
                {"store": store_id, "files": [f for f, _ in chunks], "indexes": [i for _, i in chunks]},
            )
            parts: dict[tuple[str, int], list[bytes]] = {}
            for file_id, index, blob in _pg.rows(result):
                parts.setdefault((file_id, index), []).append(bytes(blob))
        return {
            key: np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), -1).astype(np.float32)
            for key, blobs in parts.items()
        }

    async def indexed(self) -> set[tuple[str, str]]:
        await self.open()
        async with self.db.read() as conn:
            result = await conn.execute(text("select store_id, file_id from retrieval_files"))
            return {(s, f) for s, f in _pg.rows(result)}

    # --- the embedding cache --------------------------------------------------------------------------

    async def get_vectors(self, keys: Sequence[bytes]) -> dict[bytes, F32]:
        if not keys:
            return {}
        await self.open()
        out: dict[bytes, F32] = {}
        async with self.db.read() as conn:
            for start in range(0, len(keys), 1000):
                result = await conn.execute(
                    text("select key, vector from retrieval_embeddings where key = any(:keys)"),
                    {"keys": list(keys[start : start + 1000])},
                )
                for key, blob in _pg.rows(result):
                    out[bytes(key)] = np.frombuffer(bytes(blob), np.float32).copy()
        return out

    async def put_vectors(self, items: dict[bytes, F32]) -> None:
        if not items:
            return
        await self.open()
        rows = [{"k": k, "v": items[k].astype(np.float32).tobytes()} for k in sorted(items)]  # one lock order
        async with self.db.write() as conn:
            await conn.execute(
                text(
                    "insert into retrieval_embeddings values (:k, :v) "
                    "on conflict (key) do update set vector = excluded.vector"
                ),
                rows,
            )

    # --- search ---------------------------------------------------------------------------------------

    async def search(self, store_id: str, query: SearchQuery) -> list[Hit]:
        await self.open()
        async with self.db.read() as conn:
            return await self._search(conn, store_id, query)

    async def _search(self, conn: Conn, store_id: str, query: SearchQuery) -> list[Hit]:
        allowed: list[str] | None = None
        if query.filter is not None:
            result = await conn.execute(
                text("select file_id, attributes from retrieval_files where store_id = :store"), {"store": store_id}
            )
            allowed = [f for f, attributes in _pg.rows(result) if matches(query.filter, attributes)]
            if not allowed:
                return []
        pool = query.candidates or max(50, 3 * query.limit)
        keyword: dict[int, float] = {}
        idf_sum = 0.0
        terms: list[tuple[str, int]] = []
        if query.mode != "vector":
            docs, avgdl, terms = await self._terms(conn, query.text)
            if terms:
                idf_sum = sum(fusion.idf(docs, df) for _, df in terms)
                keyword = await self._bm25(conn, store_id, terms, docs, avgdl, allowed, pool)
        vector: dict[int, float] = {}
        use_vectors = False
        if query.mode != "keyword" and query.vector is not None:
            vector = await self._nearest(conn, store_id, query.vector, allowed, pool)
            use_vectors = bool(vector) or (allowed is not None and await self._has_vectors(conn, store_id, query))
            missing = [rid for rid in keyword if rid not in vector]
            if use_vectors and missing:
                vector.update(await self._cosines(conn, query.vector, missing))
        scored = []
        for rid in set(keyword) | set(vector):
            k = fusion.keyword_score(keyword.get(rid, 0.0), idf_sum) if terms else None
            v = fusion.vector_score(vector.get(rid, 0.0)) if use_vectors else None
            score = round(fusion.hybrid(k, v), 6)
            if score > 0:
                scored.append((score, rid, k or 0.0, v or 0.0))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return await self._hits(conn, scored[: query.limit])

    async def _terms(self, conn: Conn, query: str) -> tuple[int, float, list[tuple[str, int]]]:
        """The index's chunk count and average length (as FTS5 counts them: the scope token included), and
        the query's lexemes to match (one per query token, as FTS5 has one phrase per query word) with
        their document frequencies, trimmed as ``SqliteIndex._terms`` trims them."""
        words = list(dict.fromkeys(t for word in fusion.keywords(query) for t in _pg.tokens(word)))
        if not words:
            return 0, 1.0, []
        stats = await conn.execute(
            text(
                "select coalesce(sum(chunks), 0), coalesce(sum(tokens), 0), "
                "(select last_value from retrieval_generation) from retrieval_stats"
            )
        )
        docs, tokens, generation = (int(x) for x in _pg.one(stats))
        avgdl = (tokens + docs) / docs if docs else 1.0
        unknown = [w for w in words if w not in self._lexemes]
        if unknown:
            result = await conn.execute(
                text(
                    f"select w, array(select lexeme from unnest(to_tsvector('{_pg.CONFIG}', w))) "
                    "from unnest(cast(:words as text[])) as w"
                ),
                {"words": unknown},
            )
            if len(self._lexemes) > 50_000:
                self._lexemes.clear()
            self._lexemes.update({w: list(lexemes) for w, lexemes in _pg.rows(result)})
        lexemes = [lex for w in words for lex in self._lexemes.get(w, [])]
        now = time.monotonic()
        if self._df_key[0] != generation or now - self._df_key[1] > DF_TTL:
            self._df.clear()
            self._df_key = (generation, now)
        fresh = [lex for lex in dict.fromkeys(lexemes) if lex not in self._df]
        if fresh:
            # One count per lexeme, each planned with its own constant: the GIN index answers a rare one
            # without reading a chunk (no recheck for a single lexeme). A count stops past the budget: a
            # lexeme that common is dropped below whatever its exact count, so counting on is wasted work.
            cap = POSTINGS_BUDGET + 1
            parts = [
                f"select {i}, (select count(*) from (select 1 from retrieval_chunks "
                f"where tsv @@ cast(:q{i} as tsquery) limit {cap}) hits)"
                for i in range(len(fresh))
            ]
            result = await conn.execute(
                text(" union all ".join(parts)), {f"q{i}": _pg.tsquery_literal([lex]) for i, lex in enumerate(fresh)}
            )
            self._df.update({fresh[int(i)]: int(df) for i, df in _pg.rows(result)})
        kept: list[tuple[str, int]] = []
        budget = POSTINGS_BUDGET
        for lex, df in sorted(((lex, self._df.get(lex, 0)) for lex in lexemes), key=lambda item: item[1]):
            if df <= 0:
                continue
            if df > budget:
                break
            kept.append((lex, df))
            budget -= df
        return docs, avgdl, kept

    async def _bm25(
        self,
        conn: Conn,
        store_id: str,
        terms: list[tuple[str, int]],
        docs: int,
        avgdl: float,
        allowed: list[str] | None,
        limit: int,
    ) -> dict[int, float]:
        lexemes = [lex for lex, _ in terms]
        args: dict[str, Any] = {
            "lexemes": lexemes,
            "idfs": [fusion.idf(docs, df) for _, df in terms],
            "avgdl": avgdl,
            "store": store_id,
            "tsquery": _pg.tsquery_literal(list(dict.fromkeys(lexemes))),
            "limit": limit,
        }
        files = ""
        if allowed is not None:
            files = "and c.file_id = any(cast(:files as text[]))"
            args["files"] = allowed
        result = await conn.execute(text(_pg.BM25.format(files=files)), args)
        return {int(rid): float(bm25) for rid, bm25 in _pg.rows(result)}

    async def _nearest(
        self, conn: Conn, store_id: str, vector: F32, allowed: list[str] | None, limit: int
    ) -> dict[int, float]:
        dims = len(vector)
        # ef_search 4x the candidates (at least 200): recall@10 1.0 against exact search on 20,000 clustered
        # 384-d vectors (0.90 at 100), 7.6 ms a query. Iterative scans keep a filtered search from
        # running dry when the nearest chunks are other stores' or other files'.
        await conn.execute(
            text(
                "select set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true)"
            ),
            {"ef": str(min(1000, max(200, 4 * limit)))},
        )
        files = "" if allowed is None else "and c.file_id = any(cast(:files as text[]))"
        result = await conn.execute(
            text(
                f"select c.id, c.embedding::vector({dims}) <=> cast(:q as vector({dims})) as distance "
                f"from retrieval_chunks c where c.store_id = :store and c.dims = {dims} {files} "
                f"order by c.embedding::vector({dims}) <=> cast(:q as vector({dims})) limit :limit"
            ),
            {"q": _pg.vector_literal(vector), "store": store_id, "files": allowed, "limit": limit},
        )
        return {int(rid): _pg.cosine(distance) for rid, distance in _pg.rows(result)}

    async def _has_vectors(self, conn: Conn, store_id: str, query: SearchQuery) -> bool:
        assert query.vector is not None
        result = await conn.execute(
            text("select exists(select 1 from retrieval_chunks where store_id = :store and dims = :dims)"),
            {"store": store_id, "dims": len(query.vector)},
        )
        return bool(result.scalar())

    async def _cosines(self, conn: Conn, vector: F32, ids: list[int]) -> dict[int, float]:
        dims = len(vector)
        result = await conn.execute(
            text(
                f"select id, embedding::vector({dims}) <=> cast(:q as vector({dims})) from retrieval_chunks "
                f"where id = any(cast(:ids as bigint[])) and dims = {dims}"
            ),
            {"q": _pg.vector_literal(vector), "ids": ids},
        )
        found = {int(rid): _pg.cosine(distance) for rid, distance in _pg.rows(result)}
        return {rid: found.get(rid, 0.0) for rid in ids}

    async def _hits(self, conn: Conn, scored: list[tuple[float, int, float, float]]) -> list[Hit]:
        if not scored:
            return []
        result = await conn.execute(
            text(
                "select c.id, c.file_id, c.chunk_index, c.text, f.filename, f.attributes from retrieval_chunks c "
                "join retrieval_files f on f.store_id = c.store_id and f.file_id = c.file_id "
                "where c.id = any(cast(:ids as bigint[]))"
            ),
            {"ids": [rid for _, rid, _, _ in scored]},
        )
        rows = {int(r[0]): r for r in _pg.rows(result)}
        hits = []
        for score, rid, k, v in scored:
            row = rows.get(rid)
            if row is None:
                continue  # removed meanwhile
            _, file_id, index, chunk, filename, attributes = row
            hits.append(Hit(file_id, filename, dict(attributes), chunk, score, int(index), k, v))
        return hits
