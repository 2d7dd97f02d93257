"""The benchmark's FLOP count, checked by hand."""

from tools.bench import flops

SHAPE = {"layers": 1, "hidden": 4, "heads": 1, "intermediate": 8}


def test_model_flops_by_hand():
    # P = 4*4^2 + 2*4*8 = 128 matmul weights; forward 2*P*n + 4*L*H*n^2 for n = 3: 768 + 144.
    assert flops.forward_flops(SHAPE, [3]) == 912
    assert flops.training_flops(SHAPE, [3, 3]) == 3 * 2 * 912


def test_executed_flops_of_a_cls_only_last_layer_by_hand():
    # One layer, n = 3: keys and values for 3 tokens (2 * 2*16 each), the rest for the [CLS] row
    # (query + output 2*16, FFN 2*32, times 2), attention of one query over 3 keys (4 * 4 * 3).
    assert flops.executed_training_flops(SHAPE, [3]) == 3 * (3 * 64 + (2 * 32 + 2 * 64) + 48)
