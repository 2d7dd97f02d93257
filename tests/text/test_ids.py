"""IdIndex answers as pd.Index(ids) does (positions, -1, KeyError, take, iteration), and holds
MS MARCO-style integer ids without a Python string per id."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dualrank.text.ids import IdIndex

# Near misses of a canonical integer id: never the id "7".
VARIANTS = ["007", "07", "+7", "-7", " 7", "7 ", "7\n", "7.0", "", "٧", "9" * 19, "-0", "0x7"]


def _keys(ids, rng, n):
    pool = list(ids) + VARIANTS + [str(int(i) + 10**6) for i in ids[:5] if i.isdigit()] + ["d1", "q9"]
    keys = list(rng.choice(np.array(pool, dtype=object), n))
    return keys + [None, 7, 7.0]


@pytest.mark.parametrize("seed", range(12))
def test_answers_as_a_pandas_index(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    ids = [str(x) for x in rng.choice(10**int(rng.integers(3, 18)), n, replace=False)]
    if seed % 3 == 1:  # one id that is not canonical: the whole table keeps strings
        ids[int(rng.integers(n))] = rng.choice(["007", "d5", "x"])
        ids = list(dict.fromkeys(ids))
    if seed % 3 == 2:
        ids = [str(i) for i in range(len(ids))]  # MS MARCO's own ids: 0 .. N-1, in order
    want, got = pd.Index(ids, dtype=object), IdIndex(pa.array(ids))
    assert got.compact == all(i.isdigit() and (i == "0" or not i.startswith("0")) for i in ids)
    keys = _keys(ids, rng, 200)
    np.testing.assert_array_equal(got.get_indexer(keys), want.get_indexer(keys))
    for k in keys[:60]:
        if k in set(ids):
            assert got.get_loc(k) == want.get_loc(k)
        else:
            with pytest.raises(KeyError):
                got.get_loc(k)
    rows = rng.integers(0, len(ids), 50)
    assert got.take(rows).tolist() == want.take(rows).tolist()
    assert list(got) == ids and len(got) == len(ids)


def test_an_empty_table_and_chunked_input():
    empty = IdIndex(pa.array([], pa.string()))
    assert len(empty) == 0 and empty.get_indexer(["1"]).tolist() == [-1]
    chunked = IdIndex(pa.chunked_array([pa.array(["3", "1"]), pa.array(["2"])]))
    assert chunked.compact and chunked.get_indexer(["2", "3", "4"]).tolist() == [2, 0, -1]


def test_repeated_ids_refuse_lookups_as_pandas_does():
    ix = IdIndex(pa.array(["1", "2", "1"]))
    assert not ix.compact
    with pytest.raises(pd.errors.InvalidIndexError):
        ix.get_indexer(["1"])


def test_integer_ids_take_no_string_per_id():
    ids = pa.array(np.random.default_rng(0).permutation(10**5).astype(str))
    ix = IdIndex(ids)
    assert ix.compact
    held = sum(v.nbytes for v in vars(ix).values() if isinstance(v, np.ndarray))
    assert held <= 20 * len(ids)  # int64 values and their sorted copy, int32 order: 20 bytes an id
