"""The issue-14 layers on every device (cuda: a GPU, or the emulated one CI runs): the same numbers
as on the CPU, and everything they make on the inputs' device."""

import warnings

import numpy as np
import pytest

import gradspec as t
from conftest import DEVICES
from gradspec.examples import chargpt
from gradspec.models.gpt import GPTConfig


def _gpt_losses(device):
    config = GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8, dropout=0.1)
    model, _ = chargpt.make_model(t, config, 1e-3)
    model.to(device)
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    t.manual_seed(1)
    data = t.tensor([i * 7 % 20 for i in range(40)], device=device)
    losses = [chargpt.train_step(t, model, optimizer, *chargpt.get_batch(t, data, 8, 2), 1.0).item()
              for _ in range(3)]
    return losses, model.generate(t.zeros(1, 1, dtype=t.long, device=device), 5)


def _recurrent(device):
    lstm = t.nn.LSTM(3, 4, num_layers=2, bidirectional=True).to(device)
    x = t.tensor(np.linspace(-1, 1, 45, dtype=np.float32).reshape(5, 3, 3), device=device, requires_grad=True)
    packed = t.nn.utils.rnn.pack_padded_sequence(x, [3, 5, 2], enforce_sorted=False)
    out, (h, c) = lstm(packed)
    padded, _ = t.nn.utils.rnn.pad_packed_sequence(out)
    gru_out, _ = t.nn.GRU(3, 4).to(device)(x)
    (padded.sum() + h.sum() + gru_out.sum()).backward()
    return [padded, h, c, gru_out, x.grad]


def _attention_and_resampling(device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = t.nn.Transformer(8, 2, 1, 1, 16, dropout=0.1).to(device)
    src = t.tensor(np.linspace(-1, 1, 80, dtype=np.float32).reshape(5, 2, 8), device=device)
    tgt = t.tensor(np.linspace(1, -1, 64, dtype=np.float32).reshape(4, 2, 8), device=device, requires_grad=True)
    mask = t.nn.Transformer.generate_square_subsequent_mask(4, device=device)
    out = model(src, tgt, tgt_mask=mask)
    image = t.tensor(np.linspace(-1, 1, 32, dtype=np.float32).reshape(1, 2, 4, 4), device=device,
                     requires_grad=True)
    up = t.nn.functional.interpolate(t.nn.ConvTranspose2d(2, 3, 3, stride=2).to(device)(image), scale_factor=1.5,
                                     mode="bilinear")
    dropped = t.nn.Dropout2d(0.5)(up)
    (out.sum() + dropped.sum()).backward()
    return [out, tgt.grad, dropped, image.grad]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build", [_recurrent, _attention_and_resampling])
def test_layers_give_the_cpus_numbers(device, build):
    t.manual_seed(0)
    expected = [r.detach().numpy() for r in build("cpu")]
    t.manual_seed(0)
    got = build(device)
    assert all(r.device.type == device for r in got)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_gpt_trains_and_samples_on_the_device(device):
    t.manual_seed(0)
    expected, sample = _gpt_losses("cpu")
    t.manual_seed(0)
    losses, on_device = _gpt_losses(device)
    np.testing.assert_allclose(losses, expected, rtol=1e-5)
    assert on_device.device.type == device and on_device.tolist() == sample.tolist()
