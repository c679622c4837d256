"""``SqliteIndex``: the embedded ``SearchIndex``. FTS5 BM25 for keywords, in-memory vectors for similarity.

It keeps its own SQLite file (``<data_dir>/index.db``), apart from the main database: the index is derived
data (rebuildable from the files), its writes are large (a 5 MB document is thousands of FTS rows) and must
not hold the main database's single writer, and its statements run in worker threads so neither a bulk
insert nor a search blocks the event loop. The standard library's ``sqlite3`` has FTS5.

Tables: ``chunks`` (one row per chunk: store, file, position, float32 vector), ``chunks_fts`` (the text,
and a per-store ``scope`` token so a MATCH only sees one store), ``files`` (name and attributes, for
filters), ``embeddings`` (the embedding cache, by content hash) and ``windows`` (the float16 vectors of
the windows each file's chunk vectors were made from, one row each, clustered by file and position; a
chunk's span of them is in ``chunks``: read for the reranker's few candidates, never held in memory).
A store's chunk vectors are loaded into memory on its first search (``vectors.py``) and kept up to date
by every write.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from assistantd.retrieval import fusion
from assistantd.retrieval._sqlite import SqliteFile
from assistantd.retrieval.filters import matches
from assistantd.retrieval.index import Hit, IndexedFile, SearchQuery
from assistantd.retrieval.vectors import StoreVectors

T = TypeVar("T")
POSTINGS_BUDGET = 3_000
F32 = npt.NDArray[np.float32]

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, file_id TEXT NOT NULL,
    chunk_index INTEGER NOT NULL, vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks(store_id, file_id);
CREATE INDEX IF NOT EXISTS chunks_by_position ON chunks(store_id, file_id, chunk_index);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, scope, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS files(
    store_id TEXT NOT NULL, file_id TEXT NOT NULL, filename TEXT NOT NULL, attributes TEXT NOT NULL,
    PRIMARY KEY (store_id, file_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS embeddings(key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows(
    store_id TEXT NOT NULL, file_id TEXT NOT NULL, position INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (store_id, file_id, position)
) WITHOUT ROWID;
"""
SPAN_COLUMNS = ("window_first", "window_end")
"""Added to ``chunks`` after the first release: a chunk's windows ``[first, end)`` (NULL: embedded whole)."""


@dataclass(frozen=True)
class _FileInfo:
    file_id: str
    filename: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class _Store:
    """What a search needs of one store, replaced (never mutated) by writes."""

    files: tuple[_FileInfo, ...]
    positions: dict[str, int]
    """File ID → index in ``files``."""
    vectors: StoreVectors

    def with_file(self, info: _FileInfo) -> tuple[_Store, int]:
        idx = self.positions.get(info.file_id)
        files = list(self.files)
        if idx is None:
            idx = len(files)
            files.append(info)
        else:
            files[idx] = info
        return _Store(tuple(files), {**self.positions, info.file_id: idx}, self.vectors), idx


def scope_token(store_id: str) -> str:
    """The store's token in the ``scope`` column (a digit at the end keeps the stemmer off it)."""
    return f"s{hashlib.blake2b(store_id.encode(), digest_size=8).hexdigest()}0"


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SqliteIndex(SqliteFile):
    def __init__(self, path: Path) -> None:
        super().__init__(path, cache_kib=4096)
        self._stores: dict[str, _Store] = {}
        self._df: dict[str, int] = {}
        self._docs: int | None = None
        with self._write_lock:
            conn = self._conn()
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
            for column in SPAN_COLUMNS:
                if column not in columns:
                    conn.execute(f"ALTER TABLE chunks ADD COLUMN {column} INTEGER")
            conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES('rank', 'bm25(1.0, 0.0)')")

    def _written(self) -> None:
        self._df.clear()
        self._docs = None

    # --- writes ---------------------------------------------------------------------------------------

    async def put_file(self, store_id: str, file: IndexedFile) -> None:
        await self._run(lambda: self._write(lambda conn: self._put(conn, store_id, file)))

    def _put(self, conn: sqlite3.Connection, store_id: str, file: IndexedFile) -> None:
        self._delete_rows(conn, store_id, file.file_id)
        conn.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
            (store_id, file.file_id, file.filename, json.dumps(file.attributes)),
        )
        vectors = file.vectors
        blobs: list[bytes | None] = (
            [None] * len(file.texts) if vectors is None else [v.astype(np.float32).tobytes() for v in vectors]
        )
        spans: list[tuple[int, int]] | list[tuple[None, None]] = file.spans or [(None, None)] * len(file.texts)
        if file.windows is not None and file.spans is not None:
            conn.executemany(
                "INSERT INTO windows VALUES (?, ?, ?, ?)",
                [
                    (store_id, file.file_id, position, vector.tobytes())
                    for position, vector in enumerate(file.windows.astype(np.float16))
                ],
            )
        conn.executemany(
            "INSERT INTO chunks(store_id, file_id, chunk_index, vector, window_first, window_end) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (store_id, file.file_id, i, blob, first, end)
                for i, (blob, (first, end)) in enumerate(zip(blobs, spans, strict=True))
            ],
        )
        # AUTOINCREMENT: row ids are never reused, so every store's rows stay in ascending order in memory.
        ids = [
            int(r[0])
            for r in conn.execute(
                "SELECT id FROM chunks WHERE store_id = ? AND file_id = ? ORDER BY chunk_index",
                (store_id, file.file_id),
            )
        ]
        scope = scope_token(store_id)
        conn.executemany(
            "INSERT INTO chunks_fts(rowid, text, scope) VALUES (?, ?, ?)",
            [(rid, text, scope) for rid, text in zip(ids, file.texts, strict=True)],
        )
        store = self._stores.get(store_id)
        if store is not None:
            store, idx = store.with_file(_FileInfo(file.file_id, file.filename, dict(file.attributes)))
            grown = store.vectors.remove_file(idx).append(np.asarray(ids, np.int64), idx, vectors)
            self._stores[store_id] = _Store(store.files, store.positions, grown)

    def _delete_rows(self, conn: sqlite3.Connection, store_id: str, file_id: str | None) -> None:
        where, args = "store_id = ?", [store_id]
        if file_id is not None:
            where += " AND file_id = ?"
            args.append(file_id)
        conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE {where})", args)
        conn.execute(f"DELETE FROM chunks WHERE {where}", args)
        conn.execute(f"DELETE FROM files WHERE {where}", args)
        conn.execute(f"DELETE FROM windows WHERE {where}", args)

    async def set_attributes(self, store_id: str, file_id: str, attributes: dict[str, Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE files SET attributes = ? WHERE store_id = ? AND file_id = ?",
                (json.dumps(attributes), store_id, file_id),
            )
            store = self._stores.get(store_id)
            if store is not None and file_id in store.positions:
                old = store.files[store.positions[file_id]]
                self._stores[store_id] = store.with_file(_FileInfo(file_id, old.filename, dict(attributes)))[0]

        await self._run(lambda: self._write(write))

    async def delete(self, store_id: str, file_id: str | None = None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._delete_rows(conn, store_id, file_id)
            store = self._stores.get(store_id)
            if file_id is None:
                self._stores.pop(store_id, None)
            elif store is not None and file_id in store.positions:
                vectors = store.vectors.remove_file(store.positions[file_id])
                if vectors.n > 1000 and vectors.live.sum() < vectors.n // 2:
                    vectors = vectors.compacted()
                self._stores[store_id] = _Store(store.files, store.positions, vectors)

        await self._run(lambda: self._write(write))

    async def windows(self, store_id: str, chunks: list[tuple[str, int]]) -> dict[tuple[str, int], F32]:
        def read() -> dict[tuple[str, int], F32]:
            conn = self._conn()
            out: dict[tuple[str, int], F32] = {}
            for file_id, index in chunks:
                rows = conn.execute(
                    "SELECT w.vector FROM chunks c JOIN windows w ON w.store_id = c.store_id AND "
                    "w.file_id = c.file_id AND w.position >= c.window_first AND w.position < c.window_end "
                    "WHERE c.store_id = ? AND c.file_id = ? AND c.chunk_index = ? ORDER BY w.position",
                    (store_id, file_id, index),
                ).fetchall()
                if rows:
                    matrix = np.frombuffer(b"".join(r[0] for r in rows), np.float16).reshape(len(rows), -1)
                    out[(file_id, index)] = matrix.astype(np.float32)
            return out

        return await self._run(read) if chunks else {}

    async def indexed(self) -> set[tuple[str, str]]:
        def read() -> set[tuple[str, str]]:
            return {(s, f) for s, f in self._conn().execute("SELECT store_id, file_id FROM files")}

        return await self._run(read)

    # --- the embedding cache --------------------------------------------------------------------------

    async def get_vectors(self, keys: Sequence[bytes]) -> dict[bytes, F32]:
        def read() -> dict[bytes, F32]:
            conn = self._conn()
            out: dict[bytes, F32] = {}
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ",".join("?" * len(part))
                for key, blob in conn.execute(f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", part):
                    out[key] = np.frombuffer(blob, np.float32).copy()
            return out

        return await self._run(read) if keys else {}

    async def put_vectors(self, items: dict[bytes, F32]) -> None:
        rows = [(k, v.astype(np.float32).tobytes()) for k, v in items.items()]
        if rows:
            await self._run(
                lambda: self._write(
                    lambda c: c.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows), derived=False
                )
            )

    # --- search ---------------------------------------------------------------------------------------

    async def search(self, store_id: str, query: SearchQuery) -> list[Hit]:
        return await self._run(lambda: self._search(store_id, query))

    def _store(self, store_id: str) -> _Store:
        store = self._stores.get(store_id)
        if store is not None:
            return store
        with self._write_lock:  # a consistent load: no write lands between these reads
            store = self._stores.get(store_id)
            if store is None:
                store = self._load(store_id)
                self._stores[store_id] = store
        return store

    def _load(self, store_id: str) -> _Store:
        conn = self._conn()
        rows = conn.execute(
            "SELECT file_id, filename, attributes FROM files WHERE store_id = ? ORDER BY file_id", (store_id,)
        ).fetchall()
        files = tuple(_FileInfo(f, n, json.loads(a)) for f, n, a in rows)
        positions = {f.file_id: i for i, f in enumerate(files)}
        count = int(conn.execute("SELECT count(*) FROM chunks WHERE store_id = ?", (store_id,)).fetchone()[0])
        width = conn.execute(
            "SELECT length(vector) FROM chunks WHERE store_id = ? AND vector IS NOT NULL LIMIT 1", (store_id,)
        ).fetchone()
        # Allocated once at the final size: growing by copies would double the peak memory of a large store.
        vectors = StoreVectors.empty().with_capacity(count, None if width is None else int(width[0]) // 4)
        current: str | None = None
        batch: list[tuple[int, bytes | None]] = []

        def flush() -> None:
            nonlocal vectors
            if current is None or not batch or current not in positions:
                return
            ids = np.asarray([r for r, _ in batch], np.int64)
            blobs = [b for _, b in batch if b is not None]
            mat = None
            if len(blobs) == len(batch):
                mat = np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), -1)
            vectors = vectors.append(ids, positions[current], mat)

        for rid, file_id, blob in conn.execute(
            "SELECT id, file_id, vector FROM chunks WHERE store_id = ? ORDER BY id", (store_id,)
        ):
            if file_id != current:
                flush()
                current, batch = file_id, []
            batch.append((rid, blob))
        flush()
        return _Store(files, positions, vectors)

    def _document_frequency(self, conn: sqlite3.Connection, term: str) -> int:
        df = self._df.get(term)
        if df is None:
            row = conn.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (f"text : {_quote(term)}",))
            df = self._df[term] = int(row.fetchone()[0])
        return df

    def _documents(self, conn: sqlite3.Connection) -> int:
        if self._docs is None:
            self._docs = int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
        return self._docs

    def _search(self, store_id: str, query: SearchQuery) -> list[Hit]:
        store = self._store(store_id)
        if not store.files:
            return []
        conn = self._conn()
        allowed_files = None
        if query.filter is not None:
            allowed_files = [i for i, f in enumerate(store.files) if matches(query.filter, f.attributes)]
            if not allowed_files:
                return []
        pool = query.candidates or max(50, 3 * query.limit)
        terms = self._terms(conn, query.text) if query.mode != "vector" else {}
        keyword: dict[int, float] = {}
        idf_sum = 0.0
        if terms:
            docs = self._documents(conn)
            idf_sum = sum(fusion.idf(docs, df) for df in terms.values())
            keyword = self._bm25(conn, store_id, store, list(terms), allowed_files, pool)
        vector: dict[int, float] = {}
        use_vectors = (
            query.mode != "keyword"
            and query.vector is not None
            and store.vectors.f16 is not None
            and store.vectors.f16.shape[1] == len(query.vector)  # else indexed by another embedder: skip
        )
        if use_vectors:
            assert query.vector is not None
            allowed = (
                None if allowed_files is None else np.isin(store.vectors.file_idx[: store.vectors.n], allowed_files)
            )
            positions, cosines = store.vectors.nearest(query.vector, pool, allowed, max(500, 10 * pool))
            vector = dict(zip(store.vectors.rowids[positions].tolist(), cosines.tolist(), strict=True))
            # A vector hit outside the keyword pool keeps a keyword part of 0: scoring it would cost a second
            # MATCH (FTS5 does not seek by rowid cheaply), and it is below the pool's last BM25 anyway.
            missing_vec = np.asarray([r for r in keyword if r not in vector], np.int64)
            if len(missing_vec):
                cos = store.vectors.cosine(store.vectors.positions(missing_vec), query.vector)
                vector.update(zip(missing_vec.tolist(), cos.tolist(), strict=True))
        scored = []
        for rid in set(keyword) | set(vector):
            k = fusion.keyword_score(keyword.get(rid, 0.0), idf_sum) if terms else None
            v = fusion.vector_score(vector.get(rid, 0.0)) if use_vectors else None
            score = round(fusion.hybrid(k, v), 6)
            if score > 0:  # neither a keyword nor any similarity: not a result
                scored.append((score, rid, k or 0.0, v or 0.0))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return self._hits(conn, store, scored[: query.limit])

    def _terms(self, conn: sqlite3.Connection, text: str) -> dict[str, int]:
        """The query's keywords to match, with their document frequencies: words found in no chunk are
        dropped, and the most common ones too once the rarer ones cover ``POSTINGS_BUDGET`` chunks (a MATCH
        costs about 1 µs per matching chunk and term; common words weigh little in BM25 anyway). In a
        store smaller than the budget every word is kept."""
        found = {t: df for t in fusion.keywords(text) if (df := self._document_frequency(conn, t)) > 0}
        kept: dict[str, int] = {}
        budget = POSTINGS_BUDGET
        for term, df in sorted(found.items(), key=lambda item: item[1]):
            if df > budget:  # even alone: a term in that many chunks hardly ranks them (the vectors do)
                break
            kept[term] = df
            budget -= df
        return kept

    def _bm25(
        self,
        conn: sqlite3.Connection,
        store_id: str,
        store: _Store,
        terms: list[str],
        allowed_files: list[int] | None,
        limit: int,
    ) -> dict[int, float]:
        """The best ``limit`` chunks of the store by BM25 (index row → score)."""
        words = f"text : ({' OR '.join(map(_quote, terms))})"
        own, docs = int(store.vectors.live.sum()), self._documents(conn)
        if allowed_files is None and own and 2 * own >= docs:
            # The store holds most of the index: AND-ing its scope token would walk its whole doclist
            # (3.5 ms at 100,000 chunks). Match the words alone, over-fetch, keep the store's rows.
            fetched = int(limit * docs / own) + 10
            rows = conn.execute(
                "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?", (words, fetched)
            ).fetchall()
            found = store.vectors.contains(np.asarray([r for r, _ in rows], np.int64))
            return dict(
                [(int(rid), -float(rank)) for (rid, rank), mine in zip(rows, found, strict=True) if mine][:limit]
            )
        sql = "SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?"
        args: list[Any] = [f"scope : {_quote(scope_token(store_id))} AND {words}"]
        if allowed_files is not None:
            ids = [store.files[i].file_id for i in allowed_files]
            marks = ",".join("?" * len(ids))
            sql += f" AND rowid IN (SELECT id FROM chunks WHERE store_id = ? AND file_id IN ({marks}))"
            args.extend([store_id, *ids])
        sql += " ORDER BY rank LIMIT ?"
        args.append(limit)
        return {int(rid): -float(rank) for rid, rank in conn.execute(sql, args)}

    def _hits(
        self, conn: sqlite3.Connection, store: _Store, scored: list[tuple[float, int, float, float]]
    ) -> list[Hit]:
        if not scored:
            return []
        ids = [rid for _, rid, _, _ in scored]
        marks = ",".join("?" * len(ids))
        texts = dict(conn.execute(f"SELECT rowid, text FROM chunks_fts WHERE rowid IN ({marks})", ids).fetchall())
        owners = {
            rid: (file_id, index)
            for rid, file_id, index in conn.execute(
                f"SELECT id, file_id, chunk_index FROM chunks WHERE id IN ({marks})", ids
            )
        }
        hits = []
        for score, rid, k, v in scored:
            owner = owners.get(rid)
            if owner is None or owner[0] not in store.positions or rid not in texts:
                continue  # removed meanwhile
            info = store.files[store.positions[owner[0]]]
            hits.append(Hit(info.file_id, info.filename, info.attributes, texts[rid], score, owner[1], k, v))
        return hits
