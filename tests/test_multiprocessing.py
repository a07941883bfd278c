"""gradspec.multiprocessing (torch.multiprocessing): tensors move into shared memory to cross
process boundaries, and a child's in-place writes reach the parent (Hogwild training), with
spawn- and fork-started processes. Compared with torch's behaviour where torch is installed."""

import pickle
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest

import gradspec as gs
import gradspec.multiprocessing as mp
from gradspec import nn


def _step(model, value):
    """A child's in-place update of shared parameters (as an optimizer's step)."""
    with gs.no_grad():
        for p in model.parameters():
            p.add_(value)


def _reply(queue, tensor):
    queue.put((tensor.is_shared(), type(tensor).__name__, tensor.requires_grad, tensor.tolist()))


def test_share_memory_keeps_values_and_reports_sharing_as_torch():
    t = gs.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared() and t[1].is_shared()
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    t.add_(1)
    assert t.sum().item() == 21.0
    with pytest.raises(RuntimeError, match="share_memory_ of a view"):
        gs.ones(4)[1:].share_memory_()  # here only whole tensors move (a view's memory is its base's)
    torch = pytest.importorskip("torch")
    theirs = torch.arange(6.0).reshape(2, 3)
    assert not theirs.is_shared() and theirs.share_memory_().is_shared()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_childs_in_place_writes_reach_the_parents_shared_model(method):
    if method not in mp.get_all_start_methods():
        pytest.skip(f"no {method} here")
    gs.manual_seed(0)
    model = nn.Linear(3, 2)
    before = [p.detach().clone() for p in model.parameters()]
    model.share_memory()
    assert all(p.is_shared() for p in model.parameters())
    context = mp.get_context(method)
    child = context.Process(target=_step, args=(model, 0.5))
    child.start()
    child.join()
    assert child.exitcode == 0
    for p, old in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), old.numpy() + np.float32(0.5))


def test_tensors_arrive_shared_with_their_kind_and_flags():
    context = mp.get_context("spawn")
    queue = context.Queue()
    weight = nn.Parameter(gs.ones(2))
    child = context.Process(target=_reply, args=(queue, weight))
    child.start()
    assert queue.get(timeout=60) == (True, "Parameter", True, [1.0, 1.0])
    child.join()
    assert weight.is_shared()  # moved into shared memory to be sent, as torch moves it


def test_a_tensor_in_a_graph_is_refused_as_torch_refuses_it():
    x = gs.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        ForkingPickler.dumps(x)
    with pytest.raises(TypeError, match="pickling a Tensor is not supported"):
        pickle.dumps(gs.ones(2))  # plain pickle still refuses: gradspec.save is the way to files
    torch = pytest.importorskip("torch")  # (importing torch registers its reductions)
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        ForkingPickler.dumps(torch.ones(2, requires_grad=True) * 2)
