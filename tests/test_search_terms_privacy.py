"""Which query words count as unseen depends only on what the viewer may see.

The relevance model reads the IDF share of query words no experience holds; if a word only a
private experience holds counted as seen, any agent could probe for words in others' private
experiences through the relevance of a public hit. A real Tantivy index in a temp directory.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from plurum_backend.search.fulltext import FulltextIndex, IndexDoc

OWNER = str(uuid.uuid4())
OTHER = str(uuid.uuid4())


def index(tmp_path: Path) -> FulltextIndex:
    fulltext = FulltextIndex(tmp_path / "index")
    public = IndexDoc(str(uuid.uuid4()), ("public", OTHER), (), 0.5, "Docker build cache", "")
    private = IndexDoc(str(uuid.uuid4()), (OWNER,), (), 0.5, "Nightjar payroll migration", "")
    fulltext.apply([public, private], [], None)
    return fulltext


def test_a_word_only_a_private_experience_holds_is_unseen_to_others(tmp_path: Path) -> None:
    fulltext = index(tmp_path)
    for audience in (["public"], ["public", OTHER]):
        probe = fulltext.terms("docker nightjar", audience)
        control = fulltext.terms("docker zzyzxq", audience)
        assert probe.frequency["nightjar"] == 1  # Tantivy's statistics are global...
        assert probe.hidden == {"nightjar"}  # ...but the viewer cannot tell it from
        assert probe.unseen() == control.unseen() > 0  # a word nobody wrote
    owner = fulltext.terms("docker nightjar", ["public", OWNER])
    assert owner.hidden == frozenset() and owner.unseen() == 0.0


def test_the_answer_follows_the_index_when_a_word_becomes_public(tmp_path: Path) -> None:
    fulltext = index(tmp_path)
    assert fulltext.terms("nightjar", ["public"]).hidden == {"nightjar"}  # cached now
    shared = IndexDoc(str(uuid.uuid4()), ("public", OTHER), (), 0.5, "Nightjar tips", "")
    fulltext.apply([shared], [], None)
    assert fulltext.terms("nightjar", ["public"]).hidden == frozenset()
    fulltext.apply([], [shared.id], None)  # and back when that document goes
    assert fulltext.terms("nightjar", ["public"]).hidden == {"nightjar"}
