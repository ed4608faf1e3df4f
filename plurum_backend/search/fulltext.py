"""The Tantivy BM25 index: derived from PostgreSQL, rebuilt or caught up at will.

Each document carries its ``audience`` (``public`` when anyone may see it, plus the owner's
agent id), its tags and its quality score, so visibility, tag and quality filters apply
inside the retrieval, before the top N is cut.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import tantivy

PUBLIC = "public"
SCHEMA_VERSION = 2
ANALYZER = "plurum_en"
_QUERY_SYNTAX = re.compile(r"[^\w]+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "IN", "TO"}
_U64 = (1 << 64) - 1
_I64_OFFSET = 1 << 63  # u64 halves of a UUID stored as i64 (the binding has no u64 >= 2**63)


@dataclass(frozen=True)
class IndexDoc:
    id: str
    audience: tuple[str, ...]
    tags: tuple[str, ...]
    quality: float
    goal: str
    body: str

    def text(self) -> str:
        return "\n".join((self.goal, " ".join(self.tags), self.body))


# Terms whose "does a public document hold it" answer is kept until the next commit.
SHARED_TERMS_CACHE = 20_000

K1 = 1.2  # Tantivy's BM25 constants
B = 0.75


@dataclass(frozen=True)
class QueryTerms:
    """The query's analysed terms and how many documents hold each: BM25's own evidence."""

    documents: int
    frequency: dict[str, int]  # term -> number of documents containing it
    # terms only documents the viewer may not see hold: unseen for the viewer (see ``unseen``)
    hidden: frozenset[str] = frozenset()

    def idf(self, term: str) -> float:
        return _idf(self.documents, self.frequency[term])

    def ceiling(self) -> float:
        """The BM25 score of a document holding every term at saturation (k1 + 1) * sum IDF."""
        return (K1 + 1) * sum(self.idf(t) for t in self.frequency)

    def unseen(self) -> float:
        """The IDF-weighted share of the query's terms that no document the viewer may see
        contains. A term only hidden documents hold weighs as one no document holds: how
        many hidden documents hold it must not show through the relevance it feeds."""

        def weight(term: str) -> float:
            return self.idf(term) if term not in self.hidden else _idf(self.documents, 0)

        total = sum(weight(t) for t in self.frequency)
        missing = sum(weight(t) for t, df in self.frequency.items() if df == 0 or t in self.hidden)
        return missing / total if total > 0 else 0.0


def _idf(documents: int, df: int) -> float:
    return math.log(1 + (documents - df + 0.5) / (df + 0.5))


def analyzer() -> tantivy.TextAnalyzer:
    """English words: split on non-alphanumerics, lower-case, drop stop words, Porter-stem.

    One field holds goal, tags and body: on both dev sets it beat goal/tag field boosts
    (docs/search.md), because BM25 already rewards a short goal that repeats the query.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    # The id again as two fast i64 columns, read without touching the document store.
    builder.add_integer_field("id_hi", fast=True)
    builder.add_integer_field("id_lo", fast=True)
    builder.add_text_field("audience", stored=True, tokenizer_name="raw")
    builder.add_text_field("tags", tokenizer_name="raw")
    builder.add_float_field("quality", fast=True, indexed=True)
    builder.add_text_field("text", tokenizer_name=ANALYZER)
    return builder.build()


def _uuid_of(high: object, low: object) -> uuid.UUID:
    hi = int(high) + _I64_OFFSET  # type: ignore[call-overload]
    lo = int(low) + _I64_OFFSET  # type: ignore[call-overload]
    return uuid.UUID(int=(hi << 64) | lo)


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
        self.cursor: tuple[int, int] = (0, 0)
        self._open()

    def _open(self) -> None:
        meta = self._read_meta()
        if meta.get("schema_version") != SCHEMA_VERSION:
            # Unknown state (new directory, older schema, lost cursor): start empty at cursor
            # zero, which the next catch-up answers with a rebuild from the database.
            shutil.rmtree(self.path, ignore_errors=True)
            meta = {}
        self.path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=str(self.path), reuse=True)
        self._analyzer = analyzer()
        self._index.register_tokenizer(ANALYZER, self._analyzer)
        self._writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        self._forget_shared_terms()
        saved = meta.get("cursor")
        self.cursor = (
            (int(saved[0]), int(saved[1]))
            if isinstance(saved, list) and len(saved) == 2
            else (0, 0)
        )
        self._write_meta()

    def lost(self) -> bool:
        """Was the directory deleted or emptied under us (then ``reopen`` repairs it)?"""
        return not self._meta_path().exists()

    def reopen(self) -> None:
        with self._lock:
            # the last reference: dropping it releases Tantivy's writer lock (absent when an
            # earlier reopen failed, e.g. on a full disk)
            self.__dict__.pop("_writer", None)
            self._open()

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
                key = uuid.UUID(doc.id).int
                self._writer.delete_documents_by_term("id", doc.id)
                self._writer.add_document(
                    tantivy.Document(
                        id=doc.id,
                        id_hi=(key >> 64) - _I64_OFFSET,
                        id_lo=(key & _U64) - _I64_OFFSET,
                        audience=list(doc.audience),
                        tags=list(doc.tags) or [""],
                        quality=float(doc.quality),
                        text=doc.text(),
                    )
                )
            self._writer.commit()
            if cursor is not None and cursor > self.cursor:
                self.cursor = cursor
            self._write_meta()
        self._index.reload()
        self._forget_shared_terms()

    def _forget_shared_terms(self) -> None:
        """Start a new cache of which terms public documents hold. A new dict rather than
        ``clear()``: a ``terms`` call that took the old one with an older searcher writes its
        answers into the old dict, which nobody reads again."""
        self._shared_terms: dict[str, bool] = {}

    def advance(self, cursor: tuple[int, int]) -> None:
        """Move the cursor forward past changes already in the index (no commit needed)."""
        with self._lock:
            if cursor > self.cursor:
                self.cursor = cursor
                self._write_meta()

    def set_cursor(self, cursor: tuple[int, int]) -> None:
        """Record where a rebuild started (may move the cursor back)."""
        with self._lock:
            self.cursor = cursor
            self._write_meta()

    def num_docs(self) -> int:
        return int(self._index.searcher().num_docs)

    # -- reads ----------------------------------------------------------------------------

    def _all(self) -> tuple[tantivy.Searcher, list[tantivy.DocAddress]]:
        searcher = self._index.searcher()
        total = int(searcher.num_docs)
        if total == 0:
            return searcher, []
        hits = searcher.search(tantivy.Query.all_query(), limit=total, count=False).hits
        return searcher, [address for _, address in hits]

    def ids(self) -> set[str]:
        """Every indexed id, read from the fast columns."""
        searcher, addresses = self._all()
        high = searcher.fast_field_values("id_hi", addresses)
        low = searcher.fast_field_values("id_lo", addresses)
        return {str(_uuid_of(h, lo)) for h, lo in zip(high, low, strict=True)}

    def documents(self) -> dict[str, tuple[str, ...]]:
        """Every indexed id with its audience terms (for checks against the database)."""
        searcher, addresses = self._all()
        found: dict[str, tuple[str, ...]] = {}
        for address in addresses:
            doc = searcher.doc(address)
            found[str(doc["id"][0])] = tuple(str(a) for a in doc.get_all("audience"))
        return found

    def terms(self, text: str, audience: list[str]) -> QueryTerms:
        """The analysed terms of a query with their document frequencies (all audiences:
        Tantivy's IDF is global, so these counts are the ones its scores already use), and
        which of them no document of ``audience`` holds (docs/security.md, "Search")."""
        shared = self._shared_terms  # read before the searcher: see _forget_shared_terms
        searcher = self._index.searcher()
        words = dict.fromkeys(self._analyzer.analyze(query_terms(text)))
        frequency = {t: int(searcher.doc_freq("text", t)) for t in words}
        if len(shared) > SHARED_TERMS_CACHE:
            self._forget_shared_terms()
        public = self._audience_query(["public"])
        own = [a for a in audience if a != "public"]
        hidden: set[str] = set()
        for term, df in frequency.items():
            if df == 0:
                continue
            in_public = shared.get(term)
            if in_public is None:
                in_public = shared[term] = self._holds(searcher, term, public)
            if not in_public and not (
                own and self._holds(searcher, term, self._audience_query(own))
            ):
                hidden.add(term)
        return QueryTerms(int(searcher.num_docs), frequency, frozenset(hidden))

    def _audience_query(self, audience: list[str]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "audience", a))
                for a in audience
            ]
        )

    def _holds(self, searcher: tantivy.Searcher, term: str, seen: tantivy.Query) -> bool:
        """Does a document of the audience ``seen`` hold the analysed ``term``? (Costs in
        proportion to the documents holding it: ~0.3 ms for a term 100k documents hold.)"""
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.term_query(self._schema, "text", term)),
                (tantivy.Occur.Must, seen),
            ]
        )
        return bool(searcher.search(query, limit=1, count=False).hits)

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
        try:
            text_query = self._index.parse_query(terms, default_field_names=["text"])
        except ValueError:  # e.g. only stop words left, which Tantivy reads as operators
            return []
        clauses = [(tantivy.Occur.Must, text_query)]
        clauses.append((tantivy.Occur.Must, self._audience_query(audience)))
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
        addresses = [address for _, address in result.hits]
        high = searcher.fast_field_values("id_hi", addresses)
        low = searcher.fast_field_values("id_lo", addresses)
        return [
            (str(_uuid_of(h, lo)), float(score))
            for (score, _), h, lo in zip(result.hits, high, low, strict=True)
        ]
