"""Pre-train a random-initialised demo encoder on its corpus (inverse cloze), once per dataset.

    dualrank pretrain --spec JSON --corpus C.parquet --tokenizer DIR --out DIR [--threads N] \\
        [--checkpoint-dir DIR --checkpoint-every N]

``--spec`` is ``{"encoder": EncoderSpec, "query_length": N, "passage_length": N}`` as JSON (the
pretrain rule builds it from the config); the encoder must be an ``init`` shape with a
``pretrain`` section (dualrank.spec.PretrainSpec). The output directory (written atomically)
holds the backbone as a Hugging Face ``BertModel`` (config.json, model.safetensors), the
tokenizer, and pretrain.json: the spec and the logged loss and in-batch accuracy of each task.
With ``--checkpoint-dir``, the state every ``--checkpoint-every`` steps lives there, so that a
killed job resumes where it was (bit for bit), and is removed once the output is written. The
library is dualrank.training.pretrain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dualrank.cli.args import option, parse
from dualrank.cli.logs import entry_point
from dualrank.cli.shared import CORPUS, json_flag


@dataclass(frozen=True)
class Args:
    spec: str = option("the encoder and the lengths (JSON), as the pretrain rule builds them")
    corpus: str = option(CORPUS + " whose passages the pseudo-queries come from")
    tokenizer: str = option("the trained WordPiece vocabulary of the encoder")
    out: str = option("directory to write (replaced atomically)")
    threads: int = option("CPU threads", 0)
    log_every: int = option("log the loss and rate every N steps", 100)
    checkpoint_dir: str = option("where the job's checkpoint lives while it runs (none: no checkpoints)", "")
    checkpoint_every: int = option("steps between checkpoints", 500)


@entry_point
def main(argv: list[str] | None = None) -> int:
    a = parse(Args, argv, "pretrain", __doc__)
    import torch

    from dualrank.data import contracts
    from dualrank.data.io import InputError, atomic_output
    from dualrank.models.encoders import build_backbone, load_tokenizer
    from dualrank.spec import EncoderSpec, Check
    from dualrank.training.pretrain import Checkpoints, pretrain

    given = json_flag(a.spec, "--spec")
    if not isinstance(given, dict) or set(given) != {"encoder", "query_length", "passage_length"}:
        raise InputError(f"--spec: needs exactly the keys encoder, query_length, passage_length, got {given!r}")
    encoder = EncoderSpec.from_dict(given["encoder"], "--spec encoder")
    if encoder.pretrain is None:
        raise InputError("--spec encoder: has no pretrain section: nothing to pre-train")
    lengths = [Check("int", 4)(given[k], f"--spec {k}") for k in ("query_length", "passage_length")]
    if a.threads:
        torch.set_num_threads(a.threads)
    texts = contracts.read(a.corpus, "corpus", ["text"])["text"].tolist()
    tokenizer = load_tokenizer(encoder.to_dict(), a.tokenizer)
    torch.manual_seed(encoder.pretrain.seed)
    backbone = build_backbone(encoder.to_dict(), tokenizer)
    # The lengths count [CLS] and [SEP], as the rankers' do.
    checkpoints = Checkpoints(a.checkpoint_dir or None, a.checkpoint_every, given)
    rows = pretrain(backbone, tokenizer, texts, encoder.pretrain, *lengths, log_every=a.log_every,
                    checkpoints=checkpoints)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bar in the job's log
    with atomic_output(a.out, directory=True) as tmp:
        backbone.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "pretrain.json").write_text(json.dumps({"spec": given, "log": rows}, indent=1) + "\n")
    checkpoints.remove()
    return 0


if __name__ == "__main__":
    main()
