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


def test_the_gpu_check_runs_at_toy_size_on_a_cpu(capsys):
    import re

    import torch

    from tools.bench import gpu

    if torch.cuda.is_available():
        return  # the toy run is the CPU's; on a GPU `python -m tools.bench gpu` is the real check
    assert gpu.main(["--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^training: [\d,.]+ groups/s, .* MFU [\d.]+ %", out, re.M), out
    assert float(re.search(r"corpus encoding: ([\d,]+) passages/s", out)[1].replace(",", "")) > 0
    assert float(re.search(r"CA scoring: ([\d,]+) pairs/s", out)[1].replace(",", "")) > 0
    # The packed [CLS] path against Hugging Face's padded BertModel, in fp32: equal to rounding.
    assert float(re.search(r"\(fp32\): max abs difference ([\d.e+-]+)", out)[1]) < 1e-4
    # The first step's loss (before any update) in bf16 is within bf16's rounding of fp32's.
    bf16 = [float(x) for x in re.search(r"loss per step, bf16: (.*)", out)[1].split()]
    fp32 = [float(x) for x in re.search(r"loss per step, fp32: (.*)", out)[1].split()]
    assert len(bf16) == len(fp32) == 5 and abs(bf16[0] - fp32[0]) / fp32[0] < 0.05
