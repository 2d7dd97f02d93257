"""Training one run of the grid (``dualrank train``), split by job.

trainer (the loop), build (model, loss, optimizer, sampler, in the order that fixes the random
streams), groups (the training groups and their seeded, resumable sampler), objective (the
loss plus Table 9's regularisers), negatives (Table 12's in-batch and uniform negatives),
validation (evaluation, learning curve, early stopping), snapshots (Figure 7's score
snapshots), checkpoint (resume after a kill), distributed (torchrun data parallel), signals
(SIGTERM saves a checkpoint; the previous handler is restored) and outputs. The run's settings
arrive as the typed specs of :mod:`dualrank.spec`.
"""
