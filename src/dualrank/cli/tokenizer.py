"""Train the WordPiece vocabulary of the from-scratch demo encoders.

    dualrank tokenizer --corpus C.parquet [--queries Q.parquet ...] --out DIR [--vocab-size 4000]

An uncased BERT WordPiece tokenizer built deterministically from the corpus texts (and the
given query tables' texts), saved as a BertTokenizerFast directory (written atomically) that
AutoTokenizer.from_pretrained loads (dualrank.text.tokenizer).
"""

from __future__ import annotations

import argparse

from dualrank.cli.logs import entry_point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dualrank tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="corpus Parquet (doc_id, text) to learn the vocabulary from")
    p.add_argument("--queries", nargs="*", default=[], help="query tables whose text joins the training texts")
    p.add_argument("--out", required=True, help="tokenizer directory to write (replaced atomically)")
    p.add_argument("--vocab-size", type=int, default=4000, help="vocabulary size (default 4000)")
    return p


@entry_point
def main(argv: list[str] | None = None) -> int:
    from dualrank.text.tokenizer import texts_of, train_wordpiece

    a = parser().parse_args(argv)
    train_wordpiece(a.corpus, a.out, a.vocab_size, texts_of(a.queries))
    return 0


if __name__ == "__main__":
    main()
