"""Train the WordPiece vocabulary of the from-scratch demo encoders.

    dualrank tokenizer --corpus C.parquet [--queries Q.parquet ...] --out DIR [--vocab-size 4000]

An uncased BERT WordPiece tokenizer built deterministically from the corpus texts (and the
given query tables' texts), saved as a BertTokenizerFast directory (written atomically) that
AutoTokenizer.from_pretrained loads (dualrank.text.tokenizer).
"""

from __future__ import annotations

from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS


@dataclass(frozen=True)
class Args:
    corpus: str = option(CORPUS + " to learn the vocabulary from")
    out: str = option("tokenizer directory to write (replaced atomically)")
    queries: list[str] = option("query tables whose text joins the training texts", [], nargs="*")
    vocab_size: int = option("vocabulary size", 4000)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "tokenizer", __doc__)
    from dualrank.text.tokenizer import texts_of, train_wordpiece

    train_wordpiece(a.corpus, a.out, a.vocab_size, texts_of(a.queries))
    return 0


if __name__ == "__main__":
    main()
