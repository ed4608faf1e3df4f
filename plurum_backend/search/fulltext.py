"""The Tantivy BM25 index: derived from PostgreSQL, rebuilt or caught up at will.

Each document carries its ``audience`` (``public`` when anyone may see it, plus the owner's
agent id), its tags and its quality score, so visibility, tag and quality filters apply
inside the retrieval, before the top N is cut.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import tantivy

PUBLIC = "public"
SCHEMA_VERSION = 1
FIELD_BOOSTS = {"goal": 2.0, "tags_text": 1.5, "body": 1.0}
_QUERY_SYNTAX = re.compile(r"[^\w]+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "IN", "TO"}


@dataclass(frozen=True)
class IndexDoc:
    id: str
    audience: tuple[str, ...]
    tags: tuple[str, ...]
    quality: float
    goal: str
    body: str


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("audience", tokenizer_name="raw")
    builder.add_text_field("tags", tokenizer_name="raw")
    builder.add_float_field("quality", fast=True, indexed=True)
    builder.add_text_field("goal", tokenizer_name="en_stem")
    builder.add_text_field("tags_text", tokenizer_name="en_stem")
    builder.add_text_field("body", tokenizer_name="en_stem")
    return builder.build()


def query_terms(text: str) -> str:
    """Free text made safe for Tantivy's query parser: words only, operators lower-cased."""
    words = [w for w in _QUERY_SYNTAX.split(text) if w]
    return " ".join(w.lower() if w in _OPERATORS else w for w in words)


class FulltextIndex:
    """One local index directory, owned by this process (Tantivy allows one writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._schema = _schema()
        meta = self._read_meta()
        if meta.get("schema_version") != SCHEMA_VERSION:
            shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        saved = self._read_meta().get("cursor")
        self.cursor: tuple[int, int] = (
            (int(saved[0]), int(saved[1]))
            if isinstance(saved, list) and len(saved) == 2
            else (0, 0)
        )

    # -- the cursor of the change sequence this index has applied, kept beside it ------------

    def _meta_path(self) -> Path:
        return self.path / "plurum-meta.json"

    def _read_meta(self) -> dict[str, object]:
        try:
            data = json.loads(self._meta_path().read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_meta(self) -> None:
        tmp = self._meta_path().with_suffix(".tmp")
        tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "cursor": self.cursor}))
        tmp.replace(self._meta_path())

    # -- writes ---------------------------------------------------------------------------

    def apply(
        self, upserts: list[IndexDoc], deletes: list[str], cursor: tuple[int, int] | None
    ) -> None:
        """Replace or remove documents, commit, then record the cursor (idempotent on replay)."""
        with self._lock:
            for doc_id in deletes:
                self._writer.delete_documents_by_term("id", doc_id)
            for doc in upserts:
                self._writer.delete_documents_by_term("id", doc.id)
                self._writer.add_document(
                    tantivy.Document(
                        id=doc.id,
                        audience=list(doc.audience),
                        tags=list(doc.tags) or [""],
                        quality=float(doc.quality),
                        goal=doc.goal,
                        tags_text=" ".join(doc.tags),
                        body=doc.body,
                    )
                )
            self._writer.commit()
            if cursor is not None and cursor > self.cursor:
                self.cursor = cursor
            self._write_meta()
        self._index.reload()

    def clear(self) -> None:
        with self._lock:
            self._writer.delete_all_documents()
            self._writer.commit()
            self.cursor = (0, 0)
            self._write_meta()
        self._index.reload()

    def num_docs(self) -> int:
        return int(self._index.searcher().num_docs)

    # -- reads ----------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        audience: list[str],
        tags: list[str],
        min_quality: float | None,
        limit: int,
    ) -> list[tuple[str, float]]:
        terms = query_terms(text)
        if not terms:
            return []
        schema = self._schema
        text_query = self._index.parse_query(
            terms, default_field_names=list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS
        )
        clauses = [(tantivy.Occur.Must, text_query)]
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.boolean_query(
                    [
                        (tantivy.Occur.Should, tantivy.Query.term_query(schema, "audience", a))
                        for a in audience
                    ]
                ),
            )
        )
        for tag in tags:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "tags", tag)))
        if min_quality is not None and min_quality > 0:
            clauses.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        schema, "quality", tantivy.FieldType.Float, lower_bound=min_quality
                    ),
                )
            )
        searcher = self._index.searcher()
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit=limit, count=False)
        hits: list[tuple[str, float]] = []
        for score, address in result.hits:
            doc = searcher.doc(address)
            hits.append((str(doc["id"][0]), float(score)))
        return hits
