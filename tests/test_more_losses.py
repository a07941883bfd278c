"""The losses and activations the corpus's users expect beyond the common ones (issue 14 item 2):
values and gradients against torch for every reduction, and the modules' constructor arguments."""

import numpy as np
import pytest

import gradspec

RNG = np.random.RandomState(0)
X, Y = RNG.randn(4, 5).astype(np.float32), RNG.randn(4, 5).astype(np.float32)
SIGNS = np.where(RNG.rand(4, 5) > 0.5, 1.0, -1.0).astype(np.float32)
ROW_SIGNS = np.array([1.0, -1.0, -1.0, 1.0], np.float32)
LABELS = np.array([0, 3, 4, 1])
POSITIVE = RNG.uniform(0.1, 2.0, (4, 5)).astype(np.float32)
BITS = (RNG.rand(4, 5) > 0.5).astype(np.float32)
PROBS = (np.exp(Y) / np.exp(Y).sum(1, keepdims=True)).astype(np.float32)

# name: (inputs, whether each is differentiable, keyword arguments for the functional and module forms)
CASES = {
    "huber_loss": ((X, Y), (True, True), [{}, {"delta": 0.5}]),
    "kl_div": ((X, PROBS), (True, True), [{}, {"log_target": False}]),
    "kl_div_log_target": ((X, np.log(PROBS)), (True, True), [{"log_target": True}]),
    "soft_margin_loss": ((X, SIGNS), (True, False), [{}]),
    "hinge_embedding_loss": ((X, SIGNS), (True, False), [{}, {"margin": 0.5}]),
    "margin_ranking_loss": ((X[:, 0], Y[:, 0], ROW_SIGNS), (True, True, False), [{}, {"margin": 0.3}]),
    "poisson_nll_loss": ((X, POSITIVE * 3), (True, False), [{}, {"full": True}]),
    "poisson_nll_loss_rates": ((POSITIVE, POSITIVE * 3), (True, False), [{"log_input": False}]),
    "gaussian_nll_loss": ((X, Y, POSITIVE), (True, True, True), [{}, {"full": True}]),
    "multilabel_soft_margin_loss": ((X, BITS), (True, False), [{}, {"weight": POSITIVE[0]}]),
    "cosine_embedding_loss": ((X, Y, ROW_SIGNS), (True, True, False), [{}, {"margin": 0.2}]),
    "multi_margin_loss": ((X, LABELS), (True, False), [{}, {"p": 2}, {"margin": 0.5, "weight": POSITIVE[0]}]),
}


def _tensors(module, arrays, grads):
    return [module.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]


def _kwargs(module, kwargs):
    return {k: module.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_loss_values_and_gradients_match_torch(torch, case, reduction):
    arrays, grads, variants = CASES[case]
    name = case.removesuffix("_log_target").removesuffix("_rates")
    for kwargs in variants:
        results = []
        for module in (gradspec, torch):
            inputs = _tensors(module, arrays, grads)
            loss = getattr(module.nn.functional, name)(*inputs, reduction=reduction, **_kwargs(module, kwargs))
            loss.sum().backward()
            results.append((loss.detach().numpy(), [t.grad.numpy() for t, g in zip(inputs, grads) if g]))
        (ours, our_grads), (theirs, their_grads) = results
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (case, kwargs)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=f"{case} {kwargs}")
        for mine, reference in zip(our_grads, their_grads):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6, err_msg=f"{case} {kwargs} grad")


def test_kl_div_batchmean_divides_by_the_batch(torch):
    ours = gradspec.nn.functional.kl_div(gradspec.tensor(X), gradspec.tensor(PROBS), reduction="batchmean")
    theirs = torch.nn.functional.kl_div(torch.tensor(X), torch.tensor(PROBS), reduction="batchmean")
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


@pytest.mark.parametrize("module, args, kwargs", [
    ("HuberLoss", (), {"delta": 0.5}), ("KLDivLoss", (), {"reduction": "batchmean"}),
    ("SoftMarginLoss", (), {}), ("HingeEmbeddingLoss", (), {"margin": 2.0}),
    ("PoissonNLLLoss", (), {"full": True}), ("MultiLabelSoftMarginLoss", (), {}),
    ("MultiMarginLoss", (), {"p": 2, "margin": 0.5})])
def test_loss_modules_equal_their_functions(torch, module, args, kwargs):
    arrays, grads, _ = CASES[{"HuberLoss": "huber_loss", "KLDivLoss": "kl_div", "SoftMarginLoss": "soft_margin_loss",
                              "HingeEmbeddingLoss": "hinge_embedding_loss", "PoissonNLLLoss": "poisson_nll_loss",
                              "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss",
                              "MultiMarginLoss": "multi_margin_loss"}[module]]
    ours = getattr(gradspec.nn, module)(*args, **kwargs)(*_tensors(gradspec, arrays, grads))
    theirs = getattr(torch.nn, module)(*args, **kwargs)(*_tensors(torch, arrays, grads))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    assert repr(getattr(gradspec.nn, module)(**kwargs)) == repr(getattr(torch.nn, module)(**kwargs))


def test_pair_loss_modules_take_three_inputs(torch):
    for module in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        inputs = (X[:, 0], Y[:, 0], ROW_SIGNS) if module == "MarginRankingLoss" else (X, Y, ROW_SIGNS)
        ours = getattr(gradspec.nn, module)(margin=0.1)(*[gradspec.tensor(a) for a in inputs])
        theirs = getattr(torch.nn, module)(margin=0.1)(*[torch.tensor(a) for a in inputs])
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    var = gradspec.tensor(POSITIVE[:, 0])  # one variance per sample: broadcast over the last dim
    ours = gradspec.nn.GaussianNLLLoss()(gradspec.tensor(X), gradspec.tensor(Y), var)
    theirs = torch.nn.GaussianNLLLoss()(torch.tensor(X), torch.tensor(Y), torch.tensor(POSITIVE[:, 0]))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)


def test_loss_errors_name_the_problem():
    F = gradspec.nn.functional
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(gradspec.tensor(X), gradspec.tensor(Y), -gradspec.tensor(POSITIVE))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(gradspec.tensor(X), gradspec.tensor(LABELS), p=3)
    with pytest.raises(ValueError, match="huber_loss: max is not a valid value for reduction"):
        F.huber_loss(gradspec.tensor(X), gradspec.tensor(Y), reduction="max")


VALUES = np.array([-4.0, -3.5, -2.0, -0.7, 0.0, 0.4, 1.5, 2.9, 3.5, 6.0], np.float32)


@pytest.mark.parametrize("name, args", [("hardswish", ()), ("hardsigmoid", ()), ("threshold", (0.5, -2.0)),
                                        ("logsigmoid", ())])
def test_activations_match_torch_with_gradients(torch, name, args):
    results = []
    for module in (gradspec, torch):
        x = module.tensor(VALUES * 1.01, requires_grad=True)  # off the kinks at -3, 3 and the threshold
        y = getattr(module.nn.functional, name)(x, *args)
        y.backward(module.ones_like(y))
        results.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-7)


def test_activation_modules_and_inplace_forms(torch):
    for module, args in (("Hardswish", ()), ("Hardsigmoid", ()), ("Threshold", (0.1, 20.0)), ("LogSigmoid", ())):
        ours, theirs = getattr(gradspec.nn, module)(*args), getattr(torch.nn, module)(*args)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(gradspec.tensor(VALUES)).numpy(), theirs(torch.tensor(VALUES)).numpy(),
                                   rtol=1e-6)
    x, t = gradspec.tensor(VALUES), torch.tensor(VALUES)
    assert gradspec.nn.functional.threshold(x, 0.0, 9.0, inplace=True) is x
    torch.nn.functional.threshold(t, 0.0, 9.0, inplace=True)
    assert x.tolist() == t.tolist()
    x, t = gradspec.tensor(VALUES), torch.tensor(VALUES)
    gradspec.nn.functional.hardswish(x, inplace=True), torch.nn.functional.hardswish(t, inplace=True)
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)


def test_round_half_to_even_with_decimals_and_a_zero_gradient(torch):
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.125, 1.2345, -7.77], np.float32)
    for kwargs in ({}, {"decimals": 1}, {"decimals": 2}):
        assert gradspec.tensor(values).round(**kwargs).tolist() == torch.tensor(values).round(**kwargs).tolist()
        assert gradspec.round(gradspec.tensor(values), **kwargs).tolist() == \
            torch.round(torch.tensor(values), **kwargs).tolist()
    assert gradspec.tensor([3, -2]).round().tolist() == [3, -2]
    x = gradspec.tensor(values, requires_grad=True)
    x.round().sum().backward()
    assert x.grad.tolist() == [0.0] * len(values)
    y = gradspec.tensor(values)
    assert y.round_() is y and y.tolist() == torch.tensor(values).round().tolist()
