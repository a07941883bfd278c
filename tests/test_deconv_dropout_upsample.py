"""ConvTranspose1d/2d, Dropout1d/2d, Upsample/interpolate and GELU(tanh) against torch: outputs,
gradients, parameters (names, shapes, initial values after manual_seed), repr, and dropout's
channel draws under the same seed."""

import warnings

import numpy as np
import pytest

import gradspec

RNG = np.random.default_rng(0)


def _run(lib, make, x, call, train, seed=0):
    lib.manual_seed(seed)
    module = make(lib)
    module.train(train)
    xt = lib.tensor(x, requires_grad=True)
    lib.manual_seed(seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = call(module, xt)
    weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(np.float32))
    (out * weights).sum().backward()
    return module, [out, xt.grad] + [p.grad for p in module.parameters()]


CASES = [
    ("ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)", (2, 4, 5, 5), None),
    ("ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), padding=(0, 1), output_padding=(1, 1), groups=2, "
     "dilation=(2, 1), bias=False)", (2, 4, 5, 5), None),
    ("ConvTranspose2d(2, 3, 3, stride=2)", (1, 2, 4, 4), lambda m, x: m(x, output_size=[10, 9])),
    ("ConvTranspose1d(3, 2, 4, stride=3, padding=1)", (2, 3, 7), None),
    ("ConvTranspose1d(4, 4, 3, groups=4, dilation=2)", (1, 4, 6), None),
    ("Dropout2d(0.4)", (3, 5, 4, 4), None),
    ("Dropout2d(0.4)", (5, 4, 3), None),  # 3-D: channels of (N, C, L), with torch's warning
    ("Dropout1d(0.4)", (3, 5, 4), None),
    ("Dropout1d(0.3)", (5, 4), None),  # unbatched
    ("Upsample(scale_factor=2)", (2, 3, 4, 5), None),
    ("Upsample(size=(5, 7))", (2, 3, 4, 5), None),
    ("Upsample(scale_factor=(1.5, 2.2))", (2, 3, 4, 5), None),
    ("Upsample(scale_factor=2.5, mode='bilinear')", (2, 3, 4, 5), None),
    ("Upsample(size=(5, 7), mode='bilinear', align_corners=True)", (2, 3, 4, 5), None),
    ("Upsample(scale_factor=(0.6, 1.7), mode='bilinear')", (2, 3, 4, 5), None),
    ("Upsample(scale_factor=1.7, mode='bilinear', recompute_scale_factor=True)", (2, 3, 4, 5), None),
    ("Upsample(scale_factor=2.3, mode='linear')", (2, 3, 5), None),
    ("Upsample(size=8)", (2, 3, 5), None),
    ("UpsamplingBilinear2d(scale_factor=2)", (1, 2, 3, 3), None),
    ("UpsamplingNearest2d(size=(4, 6))", (1, 2, 3, 3), None),
    ("GELU(approximate='tanh')", (3, 7), None),
]


@pytest.mark.parametrize("spec,shape,call", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_torch(torch, spec, shape, call):
    x = RNG.standard_normal(shape).astype(np.float32)
    call = call or (lambda m, t: m(t))
    ours, results_a = _run(gradspec, lambda lib: eval(f"lib.nn.{spec}"), x, call, train=True)
    theirs, results_b = _run(torch, lambda lib: eval(f"lib.nn.{spec}"), x, call, train=True)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for key, value in theirs.state_dict().items():  # manual_seed(0) before each: the same start
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    for a, b in zip(results_a, results_b):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=2e-6)


def test_dropout_nd_is_identity_in_eval_and_zeroes_whole_channels():
    x = gradspec.ones(4, 6, 3, 3)
    d = gradspec.nn.Dropout2d(0.5)
    out = d(x)
    per_channel = out.sum(dim=(2, 3)).numpy()
    assert set(np.unique(per_channel)) <= {0.0, 18.0}  # a channel is all zero or all 2.0
    d.eval()
    assert d(x) is x


def test_interpolate_refuses_what_torch_refuses():
    F = gradspec.nn.functional
    x = gradspec.randn(1, 1, 3, 3)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D input"):
        F.interpolate(gradspec.randn(1, 1, 3), size=4, mode="bilinear")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        gradspec.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="requested an output size of"):
        gradspec.nn.ConvTranspose2d(1, 1, 3, stride=2)(x, output_size=[20, 20])
