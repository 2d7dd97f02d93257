"""Teacher scores for the training pairs: a trained CA model, or the published T1 scores.

    python -m dualrank.teacher score --model DIR --pairs P --corpus C --queries Q --out OUT
    python -m dualrank.teacher import --scores T1.tsv --out OUT

``score``: the CA teacher (trained one-hot on the same dataset) scores every training pair.
``import``: Hofstätter et al. (2020)'s published cross-encoder scores (Zenodo 4068216),
tab-separated ``pos_score neg_score query_id pos_pid neg_pid`` over triples.train.small, read
in streamed batches; a positive repeated over many triples keeps its first score.
"""

from __future__ import annotations

import argparse
import logging
import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import torch

from . import contracts
from .errors import InputError
from .logs import entry_point
from .models import load_model
from .rerank import score_candidates
from .texts import load_texts

log = logging.getLogger("dualrank.teacher")

T1_COLUMNS = ["pos_score", "neg_score", "query_id", "pos_pid", "neg_pid"]


def score_pairs(model_dir: str, pairs_path: str, corpus: str, queries: str, batch_size: int) -> pa.Table:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(model_dir, device)
    pairs = contracts.read(pairs_path, "pairs")
    q = load_texts(queries, "queries", set(pairs["query_id"]))
    d = load_texts(corpus, "corpus", set(pairs["doc_id"]))
    run = score_candidates(model, pairs[["query_id", "doc_id"]], q, d, batch_size)
    scored = pairs.drop(columns="teacher_score").merge(
        run[["query_id", "doc_id", "score"]].rename(columns={"score": "teacher_score"}),
        on=["query_id", "doc_id"], how="left", validate="one_to_one",
    )
    return contracts.to_table(scored, "pairs")


def import_published(scores_path: str, out: str, block_size: int = 1 << 24) -> None:
    path, tmp = contracts.atomic_path(out)
    opts = pacsv.ReadOptions(column_names=T1_COLUMNS, block_size=block_size)
    conv = pacsv.ConvertOptions(column_types={
        "pos_score": pa.float32(), "neg_score": pa.float32(), "query_id": pa.string(),
        "pos_pid": pa.string(), "neg_pid": pa.string()})
    parse = pacsv.ParseOptions(delimiter="\t")
    seen_pos: set[tuple[str, str]] = set()
    n = 0
    try:
        reader = pacsv.open_csv(scores_path, read_options=opts, parse_options=parse, convert_options=conv)
        with pq.ParquetWriter(tmp, contracts.schema("pairs")) as writer:
            for batch in reader:
                n += batch.num_rows
                pos = pa.table({"query_id": batch["query_id"], "doc_id": batch["pos_pid"],
                                "label": pa.array([1] * batch.num_rows, pa.int8()),
                                "teacher_score": batch["pos_score"]})
                keep = [(q, d) not in seen_pos and not seen_pos.add((q, d))
                        for q, d in zip(pos["query_id"].to_pylist(), pos["doc_id"].to_pylist())]
                neg = pa.table({"query_id": batch["query_id"], "doc_id": batch["neg_pid"],
                                "label": pa.array([0] * batch.num_rows, pa.int8()),
                                "teacher_score": batch["neg_score"]})
                writer.write_table(pos.filter(pa.array(keep)))
                writer.write_table(neg)
                log.info("imported %d teacher triples", n)
        os.replace(tmp, path)
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise InputError(f"{scores_path}: not in the published format {T1_COLUMNS}: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score")
    for name in ("model", "pairs", "corpus", "queries", "out"):
        s.add_argument(f"--{name}", required=True)
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--threads", type=int, default=0)
    i = sub.add_parser("import")
    i.add_argument("--scores", required=True)
    i.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.cmd == "score":
        if a.threads:
            torch.set_num_threads(a.threads)
        table = score_pairs(a.model, a.pairs, a.corpus, a.queries, a.batch_size)
        n_missing = pc.sum(pc.is_null(table["teacher_score"])).as_py() or 0
        if n_missing:
            raise InputError(f"{a.pairs}: {n_missing} pairs were left unscored")
        contracts.write(table, a.out, "pairs")
    else:
        import_published(a.scores, a.out)


if __name__ == "__main__":
    entry_point(main)()
