from __future__ import annotations

import math
import uuid

import pytest

from plurum_backend.search import relevance
from plurum_backend.search.fulltext import QueryTerms
from plurum_backend.search.fusion import (
    Fused,
    Hit,
    Tuning,
    code_ratio,
    error_shaped,
    fuse_hits,
    pooled,
)
from plurum_backend.services.search import Candidates, answered, multi_vector

A, B, C, D = (uuid.UUID(int=i) for i in range(1, 5))


@pytest.mark.parametrize(
    "query",
    [
        "psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint",
        "Error: connect ECONNREFUSED ::1:5432",
        'Traceback (most recent call last):\n  File "app.py", line 3, in <module>',
        "npm ERR! code ERESOLVE",
        "ERR_OSSL_EVP_UNSUPPORTED",
        "2024/02/01 17:03:55 [crit] connect() to unix:/run/gunicorn.sock failed",
        "django.db.utils.OperationalError: FATAL:  too many clients already",
    ],
)
def test_error_shaped_queries(query: str) -> None:
    assert error_shaped(query)


@pytest.mark.parametrize(
    "query",
    [
        "Deploy a FastAPI app to AWS ECS Fargate behind an ALB",
        "my container keeps getting killed after a few minutes with no log output",
        "Upgrade EKS to Kubernetes 1.25; we still rely on PodSecurityPolicy",
        "Migrate an npm-based Turborepo monorepo to pnpm workspaces",
        "BLM gene encodes RecQ-class DNA helicase.",
    ],
)
def test_plain_queries(query: str) -> None:
    assert not error_shaped(query)


def test_code_ratio() -> None:
    assert code_ratio("") == 0.0
    assert code_ratio("plain words only.") == 0.0
    assert code_ratio("open /etc/hosts now") == pytest.approx(1 / 3)


def test_convex_fusion_normalizes_each_side() -> None:
    fulltext = [Hit(A, 30.0), Hit(B, 20.0), Hit(C, 10.0)]
    vector = [Hit(C, 0.9), Hit(D, 0.5)]
    fused = fuse_hits(
        "a plain query", fulltext, vector, Tuning(fusion="convex", fulltext_share=0.5)
    )
    by_id = {f.id: f for f in fused}
    assert by_id[A].score == pytest.approx(0.5)  # top of BM25, absent from vectors
    assert by_id[C].score == pytest.approx(0.5)  # bottom of BM25 (0) + top of vectors
    assert by_id[B].score == pytest.approx(0.25)
    assert by_id[D].score == pytest.approx(0.0)
    assert (by_id[C].fulltext_rank, by_id[C].vector_rank) == (3, 1)
    assert (by_id[D].fulltext_rank, by_id[D].vector_rank) == (None, 2)
    # equal scores: the better single-side rank first (A is 1st on BM25, C 1st on vectors)
    assert [f.id for f in fused][:2] in ([A, C], [C, A])


def test_error_shaped_query_leans_on_bm25() -> None:
    fulltext = [Hit(A, 10.0), Hit(B, 1.0)]
    vector = [Hit(B, 0.9), Hit(A, 0.1)]
    tuning = Tuning(fusion="convex", fulltext_share=0.4, error_fulltext_share=0.7)
    assert fuse_hits("why is my app slow", fulltext, vector, tuning)[0].id == B
    assert fuse_hits("ValueError: bad thing", fulltext, vector, tuning)[0].id == A


def test_rrf_fusion() -> None:
    tuning = Tuning(fusion="rrf", rrf_k=60, fulltext_share=0.5)
    fused = fuse_hits("q", [Hit(A, 1), Hit(B, 1)], [Hit(B, 1), Hit(C, 1)], tuning)
    assert [f.id for f in fused] == [B, A, C]
    assert fused[0].score == pytest.approx(0.5 / 62 + 0.5 / 61)


def test_one_side_only_keeps_its_order() -> None:
    fused = fuse_hits("q", [Hit(A, 3.0), Hit(B, 3.0), Hit(C, 1.0)], [], Tuning())
    assert [f.id for f in fused] == [A, B, C]
    assert fuse_hits("q", [], [], Tuning()) == []


def test_evidence_fusion_keeps_a_weak_bm25_hit_weak() -> None:
    # BM25's best hit holds a tenth of the query's ceiling; min-max would make it 1.0.
    fulltext = [Hit(A, 1.0), Hit(B, 0.5), Hit(C, 0.1)]
    vector = [Hit(B, 0.6), Hit(A, 0.55), Hit(C, 0.2)]
    tuning = Tuning(fusion="evidence", fulltext_share=0.3, strong_fulltext_share=0.3)
    fused = fuse_hits("why is my app slow", fulltext, vector, tuning, ceiling=10.0)
    assert [f.id for f in fused] == [B, A, C]
    by_id = {f.id: f for f in fused}
    assert by_id[A].score == pytest.approx(0.3 * 0.1 + 0.7 * 0.55)
    assert by_id[B].score == pytest.approx(0.3 * 0.05 + 0.7 * 0.6)
    # the same lists min-max normalised put A first: that is what hurt paraphrases
    convex = Tuning(fusion="convex", fulltext_share=0.5)
    assert fuse_hits("why is my app slow", fulltext, vector, convex)[0].id == A


def test_evidence_fusion_uses_the_cosine_of_bm25_only_hits() -> None:
    tuning = Tuning(fusion="evidence", fulltext_share=0.3, strong_fulltext_share=0.3)
    fused = fuse_hits(
        "q words", [Hit(C, 5.0)], [Hit(A, 0.5)], tuning, ceiling=5.0, similarity={C: 0.4}
    )
    assert fused[0].id == C and fused[0].score == pytest.approx(0.3 + 0.7 * 0.4)


def test_evidence_fusion_falls_back_to_convex_for_errors_and_without_ceiling() -> None:
    fulltext = [Hit(A, 10.0), Hit(B, 1.0)]
    vector = [Hit(B, 0.9), Hit(A, 0.1)]
    tuning = Tuning(
        fusion="evidence", fulltext_share=0.3, strong_fulltext_share=0.3, error_fulltext_share=0.6
    )
    error = fuse_hits("ValueError: bad thing", fulltext, vector, tuning, ceiling=100.0)
    assert error[0].id == A and error[0].score == pytest.approx(0.6)
    assert fuse_hits("plain", fulltext, vector, tuning)[0].score == pytest.approx(0.7)


def test_query_terms_ceiling_and_unseen_share() -> None:
    terms = QueryTerms(documents=10, frequency={"helm": 2, "sourdough": 0})
    idf_helm = math.log(1 + (10 - 2 + 0.5) / 2.5)
    idf_new = math.log(1 + 10.5 / 0.5)
    assert terms.ceiling() == pytest.approx(2.2 * (idf_helm + idf_new))
    assert terms.unseen() == pytest.approx(idf_new / (idf_helm + idf_new))
    assert QueryTerms(documents=0, frequency={}).unseen() == 0.0


def test_relevance_is_a_probability_that_grows_with_evidence() -> None:
    weak = Fused(A, 0.1, None, 5, similarity=0.15)
    strong = Fused(B, 0.9, 1, 1, similarity=0.8)
    terms = QueryTerms(documents=10, frequency={"helm": 2, "upgrade": 3})
    seen = relevance.Evidence({B: 4.0}, terms, {A: 0.15, B: 0.8}, {B: 0.7})
    rated = relevance.assess("helm upgrade", [strong, weak], seen)
    assert [f.id for f in rated] == [B, A]  # order unchanged
    assert all(0.0 <= f.relevance <= 1.0 for f in rated)
    assert rated[0].relevance > 0.5 > rated[1].relevance


def test_evidence_share_grows_with_bm25_evidence() -> None:
    tuning = Tuning(fusion="evidence", fulltext_share=0.2, strong_fulltext_share=0.5)
    # best BM25 / ceiling = 0.5 reaches the knee: share 0.5
    strong = fuse_hits("q words", [Hit(A, 5.0)], [Hit(A, 0.4)], tuning, ceiling=10.0)
    assert strong[0].score == pytest.approx(0.5 * 0.5 + 0.5 * 0.4)
    # 0.1 is a fifth of the knee: share 0.2 + 0.3 / 5
    weak = fuse_hits("q words", [Hit(A, 1.0)], [Hit(A, 0.4)], tuning, ceiling=10.0)
    assert weak[0].score == pytest.approx(0.26 * 0.1 + 0.74 * 0.4)


def test_pooled_blends_the_whole_text_with_the_closest_item() -> None:
    blend = Tuning(pooling="max", item_weight=0.25)
    assert pooled(0.4, [0.2, 0.8], blend) == pytest.approx(0.75 * 0.4 + 0.25 * 0.8)
    assert pooled(0.4, [0.2], blend) == pytest.approx(0.4)  # items below: whole text
    assert pooled(0.4, [], blend) == pytest.approx(0.4)
    assert pooled(0.4, [0.9], Tuning(pooling="none")) == pytest.approx(0.4)
    soft = pooled(0.4, [0.8], Tuning(pooling="softmax", pooling_temperature=0.05, item_weight=1))
    assert 0.79 < soft < 0.8  # near the max at a low temperature


def test_multi_vector_reorders_the_vector_side_by_pooled_scores() -> None:
    found = Candidates(
        fulltext=[],
        vector=[Hit(A, 0.5), Hit(B, 0.45)],
        similarity={A: 0.5, B: 0.45, C: 0.1},
        items={B: [0.9]},  # B's fix, written late, is what the query describes
    )
    vector, score = multi_vector(found, Tuning(pooling="max", item_weight=0.5))
    assert [h.id for h in vector] == [B, A]
    assert score[B] == pytest.approx(0.675) and score[C] == pytest.approx(0.1)
    same, _ = multi_vector(found, Tuning(pooling="none"))
    assert [h.id for h in same] == [A, B]


def test_the_floor_applies_to_the_best_hit() -> None:
    ranked = [
        Fused(A, 0.9, 1, 1, relevance=0.3),
        Fused(B, 0.5, 2, None, relevance=0.01),  # a lower-ranked answer is kept
    ]
    assert [f.id for f in answered(ranked, 0.1)] == [A, B]
    assert answered(ranked, 0.5) == []  # nothing reaches the floor: abstain
    assert answered([], 0.0) == []
    assert [f.id for f in answered(ranked, 0.0)] == [A, B]
