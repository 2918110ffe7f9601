"""The CPU dropout of training runs, and the allocator setting of CPU runs."""

from __future__ import annotations

import platform

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.bert  # needs torch; see tests/conftest.py
pytest.importorskip("transformers")

from toolkit.models import engine  # noqa: E402
from toolkit.models.dropout import CheapDropout, cheap_cpu_dropout  # noqa: E402


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_drops_the_right_share_and_keeps_the_mean(p, dtype):
    torch.manual_seed(0)
    dropout = CheapDropout(p).train()
    ones = torch.ones(1_000_003, dtype=dtype)  # not a multiple of four
    out = dropout(ones).float()
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - p) < 0.003  # ~5 standard deviations at a million elements
    assert abs(out.mean().item() - 1.0) < 0.01
    values = torch.unique(out).tolist()
    assert len(values) == 2 and values[0] == 0.0
    assert values[1] == pytest.approx(1 / (1 - dropout.threshold / 65536), rel=1e-2)


def test_mask_is_not_repeated_and_follows_torch_seed():
    dropout = CheapDropout(0.5).train()
    torch.manual_seed(3)
    first = dropout(torch.ones(4096)) == 0
    torch.manual_seed(3)
    again = dropout(torch.ones(4096)) == 0
    second = dropout(torch.ones(4096)) == 0
    assert torch.equal(first, again)
    assert not torch.equal(first, second)
    # neighbouring elements come from different 16-bit slices: no run of four equal decisions throughout
    quads = first.view(-1, 4)
    assert 0.05 < (quads.all(dim=1) | (~quads).all(dim=1)).float().mean().item() < 0.2  # 2/16 expected


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(1)
    dropout = CheapDropout(0.2).train()
    hidden = torch.randn(64, 32, requires_grad=True)
    out = dropout(hidden)
    out.sum().backward()
    kept = out != 0
    assert torch.allclose(hidden.grad[kept], torch.full_like(hidden.grad[kept], dropout.scale))
    assert torch.all(hidden.grad[~kept] == 0)


def test_evaluation_zero_and_one():
    hidden = torch.randn(10, 8)
    assert CheapDropout(0.4).eval()(hidden) is hidden
    assert CheapDropout(0.0).train()(hidden) is hidden
    assert torch.all(CheapDropout(1.0).train()(hidden) == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        CheapDropout(1.5)


def _model():
    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.1), torch.nn.Sequential(torch.nn.Dropout(0.3)))


def test_swapped_in_for_the_run_and_back_after():
    model = _model()
    originals = [module for module in model.modules() if type(module) is torch.nn.Dropout]
    with cheap_cpu_dropout(model, torch.device("cpu")):
        inside = [module for module in model.modules() if isinstance(module, CheapDropout)]
        assert [module.p for module in inside] == [0.1, 0.3]
        assert not any(type(module) is torch.nn.Dropout for module in model.modules())
        model.eval()
    assert [module for module in model.modules() if type(module) is torch.nn.Dropout] == originals
    assert not any(module.training for module in originals)  # the mode set inside carries over
    assert not any(isinstance(module, CheapDropout) for module in model.modules())


def test_swapped_back_after_an_error():
    model = _model()
    with pytest.raises(RuntimeError), cheap_cpu_dropout(model, torch.device("cpu")):
        raise RuntimeError("training failed")
    assert sum(type(module) is torch.nn.Dropout for module in model.modules()) == 2


def test_left_alone_on_a_gpu_and_when_switched_off(monkeypatch):
    model = _model()
    with cheap_cpu_dropout(model, torch.device("cuda")):
        assert sum(type(module) is torch.nn.Dropout for module in model.modules()) == 2
    monkeypatch.setenv("TOOLKIT_CHEAP_DROPOUT", "0")
    with cheap_cpu_dropout(model, torch.device("cpu")):
        assert sum(type(module) is torch.nn.Dropout for module in model.modules()) == 2


def test_keep_freed_memory(monkeypatch):
    monkeypatch.setattr(engine, "_freed_memory_kept", False)
    monkeypatch.setenv("TOOLKIT_KEEP_FREED_MEMORY", "0")
    assert engine.keep_freed_memory() is False
    monkeypatch.delenv("TOOLKIT_KEEP_FREED_MEMORY")
    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert engine.keep_freed_memory() is expected
    # memory handed out after the setting is still memory: a large block works and is reused
    block = torch.ones(50_000_000)
    assert float(block.sum()) == 50_000_000
