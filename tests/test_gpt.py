"""The character-level GPT (gradspec.models.gpt, gradspec.examples.chargpt) against PyTorch:
the same initial parameters after manual_seed, the same batches, and the same losses for the
first 20 training steps (AdamW in weight-decay groups, gradient clipping)."""

import numpy as np
import pytest

import gradspec
from gradspec.examples import chargpt
from gradspec.models.gpt import GPTConfig

SMALL = dict(block_size=32, n_layer=2, n_head=2, n_embd=32)


def _setup(lib, config, seed=0):
    lib.manual_seed(seed)
    return chargpt.make_model(lib, config, 1e-3)


def _text_data(lib):
    tokenizer = chargpt.CharTokenizer(chargpt.load_text())
    return tokenizer, lib.tensor(tokenizer.encode(chargpt.load_text()), dtype=lib.long)


def test_initial_parameters_equal_torchs_after_manual_seed(torch):
    tokenizer, _ = _text_data(gradspec)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **SMALL)
    ours, theirs = _setup(gradspec, config)[0].state_dict(), _setup(torch, config)[0].state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy(), err_msg=key)
    # the token embedding and the head share one tensor (weight tying), as in torch
    model = _setup(gradspec, config)[0]
    assert model.transformer.wte.weight is model.lm_head.weight
    assert len(list(model.parameters())) == len(list(_setup(torch, config)[0].parameters()))


def test_batches_equal_torchs_under_the_same_seed(torch):
    _, ours = _text_data(gradspec)
    _, theirs = _text_data(torch)
    gradspec.manual_seed(5)
    torch.manual_seed(5)
    for _ in range(3):
        for a, b in zip(chargpt.get_batch(gradspec, ours, 32, 4), chargpt.get_batch(torch, theirs, 32, 4)):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_twenty_training_steps_match_torch(torch):
    """From torch's initial state_dict, on the same batches: the losses agree to float32 rounding."""
    tokenizer, data = _text_data(gradspec)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **SMALL)
    gradspec.manual_seed(1)
    batches = [tuple(t.numpy() for t in chargpt.get_batch(gradspec, data, config.block_size, 8)) for _ in range(20)]
    model_b, opt_b = _setup(torch, config)
    model_a, opt_a = _setup(gradspec, config, seed=123)  # another start, then torch's loaded into it
    model_a.load_state_dict({k: gradspec.tensor(v.numpy()) for k, v in model_b.state_dict().items()})
    losses = {"gradspec": [], "torch": []}
    for x, y in batches:
        for name, lib, model, opt in (("gradspec", gradspec, model_a, opt_a), ("torch", torch, model_b, opt_b)):
            losses[name].append(chargpt.train_step(lib, model, opt, lib.tensor(x), lib.tensor(y), 1.0).item())
    np.testing.assert_allclose(losses["gradspec"], losses["torch"], rtol=1e-5)
    assert losses["torch"][-1] < losses["torch"][0] - 0.5  # it learns: the comparison is not of a flat line
    for key, value in model_b.state_dict().items():
        np.testing.assert_allclose(model_a.state_dict()[key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=key)


def test_weight_decay_groups_are_matrices_and_vectors():
    config = GPTConfig(vocab_size=10, **SMALL)
    model, optimizer = _setup(gradspec, config)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_example_trains_and_samples(capsys):
    assert chargpt.main(["--steps", "2", "--eval-every", "2", "--eval-batches", "1", "--batch-size", "2",
                         "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16",
                         "--sample-chars", "20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("gradspec: 84,823 characters, vocabulary 75")
    assert out[1].startswith("step     2: train loss ")
    assert "".join(out[2:]).startswith("Alice")
