"""Re-ranking in query chunks: whole queries per chunk, never more candidates than the chunk
unless one query alone has more, and the same run (ids, ranks, scores to float tolerance) as
scoring every candidate at once, for a DE and a CA."""

import numpy as np
import pytest

from dualrank.retrieval import rerank
import retrieval_data


data = retrieval_data.data  # the fixture (module-scoped there)


@pytest.mark.parametrize("seed", range(20))
def test_query_chunks_hold_whole_queries_within_the_limit(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, size=int(rng.integers(1, 40)))
    qids = np.repeat([f"q{i:03d}" for i in range(len(sizes))], sizes).astype(object)
    limit = int(rng.integers(1, 80))
    parts = list(rerank.query_chunks(qids, limit))
    assert parts[0].start == 0 and parts[-1].stop == len(qids)
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    starts = {0, *np.cumsum(sizes).tolist()}
    for p in parts:
        assert p.start in starts and p.stop in starts  # never splits a query
        n = p.stop - p.start
        # Within the limit, unless the chunk is a single query larger than the limit.
        assert n <= limit or len(set(qids[p])) == 1
        if p.stop < len(qids):  # and full: the next query would not have fitted
            assert n + sizes[list(sorted(starts)).index(p.stop)] > limit


def test_query_chunks_of_nothing():
    assert list(rerank.query_chunks(np.array([], dtype=object), 5)) == []


def _cands(data):
    from dualrank.data import contracts
    return contracts.read(data / "cands.parquet", "run")


@pytest.mark.parametrize("kind", ["de", "ca"])
def test_chunked_scores_equal_scoring_everything_at_once(data, tmp_path, kind, monkeypatch):
    from dualrank.models import build_model, load_model
    from dualrank.text.cache import for_model

    if kind == "de":
        model = load_model(data / "model", "cpu")
    else:
        build_model("ca", retrieval_data.TINY, str(data / "tok"), 12, 48).save(tmp_path / "ca")
        model = load_model(tmp_path / "ca", "cpu")
    cands = _cands(data)[["query_id", "doc_id"]].sample(frac=1, random_state=0)  # any order in
    queries = for_model(data / "queries-dev.parquet", "queries", model)
    docs = for_model(data / "corpus.parquet", "corpus", model)
    whole = rerank.score_candidates(model, cands, queries, docs, batch_size=4, chunk_pairs=10**9)

    sizes, encode = [], rerank.encode

    def counted(fn, seqs, *args, **kwargs):  # how many sequences each call encodes at once
        sizes.append(len(seqs))
        return encode(fn, seqs, *args, **kwargs)

    monkeypatch.setattr(rerank, "encode", counted)
    per_query = cands.groupby("query_id").size()
    for chunk in (1, 8, 15):
        sizes.clear()
        got = rerank.score_candidates(model, cands, queries, docs, batch_size=4, chunk_pairs=chunk)
        # The same pairs and scores (batches of other passages pad differently: float noise),
        # and each query's ranking agrees with the unchunked scores up to that noise.
        both = got.merge(whole, on=["query_id", "doc_id"], suffixes=("", "_whole"), validate="1:1")
        assert len(both) == len(whole) == len(got)
        np.testing.assert_allclose(both["score"], both["score_whole"], rtol=1e-5, atol=1e-6)
        both = both.sort_values(["query_id", "rank"])
        drop = both.groupby("query_id")["score_whole"].diff().dropna()
        assert (drop <= 1e-5).all()
        assert (both.groupby("query_id")["rank"].apply(list) == both.groupby("query_id")["rank_whole"]
                .apply(sorted)).all()
        # Nothing encoded at once beyond the chunk (or one query's candidates).
        assert max(sizes) <= max(chunk, per_query.max())
        assert len(sizes) >= (2 if kind == "de" else 1) * -(-len(cands) // max(chunk, per_query.max()))
