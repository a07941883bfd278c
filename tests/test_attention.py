"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against torch:
outputs, attention weights, every gradient, parameter names, initial values after manual_seed,
and dropout's random draws under the same seed."""

import warnings

import numpy as np
import pytest

import gradspec
from gradspec.nn import functional as F

RNG = np.random.default_rng(0)
E, H, L, S, N = 8, 2, 4, 5, 3


def _arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _loss(lib, outs):
    return sum((o * lib.tensor(np.cos(np.arange(o.numel())).reshape(tuple(o.shape)).astype(np.float32))).sum()
               for o in outs)


def _run(lib, make, inputs, call, train, seed=0):
    """Outputs, input gradients and parameter gradients (and names) of one framework's run;
    inputs are (array, requires_grad) pairs."""
    lib.manual_seed(seed)
    module = make(lib)
    module.train(train)
    tensors = [None if a is None else lib.tensor(a, requires_grad=g) for a, g in inputs]
    lib.manual_seed(seed + 1)  # dropout's draws
    outs = call(module, *tensors)
    outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o is not None]
    _loss(lib, outs).backward()
    grads = [t.grad for t in tensors if t is not None and t.requires_grad]
    params = [(k, p.grad) for k, p in module.named_parameters()]
    return outs + grads + [g for _, g in params if g is not None], [k for k, _ in params], module


def _compare(torch, make, inputs, call, train=False, atol=2e-6):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's and ours alike (mismatched mask types, nested tensors)
        ours, names_a, module_a = _run(gradspec, make, inputs, call, train)
        theirs, names_b, module_b = _run(torch, make, inputs, call, train)
    assert names_a == names_b
    assert repr(module_a) == repr(module_b)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=atol)


# ---- scaled_dot_product_attention -------------------------------------------------------------

_MASK = RNG.random((4, 6)) > 0.3
_MASK[1] = False  # a row masked everywhere: zeros, as torch's

SDPA = [
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {}),
    ((2, 3, 6, 5), (2, 3, 6, 5), (2, 3, 6, 7), dict(is_causal=True)),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), dict(is_causal=True, scale=0.3)),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), dict(attn_mask=_MASK)),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), dict(attn_mask=_arr(3, 4, 6))),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), dict(dropout_p=0.3)),
    ((2, 6, 5), (2, 6, 5), (2, 6, 7), dict(dropout_p=0.5, is_causal=True)),
]


@pytest.mark.parametrize("q,k,v,kwargs", SDPA, ids=[str(i) for i in range(len(SDPA))])
def test_scaled_dot_product_attention_matches_torch(torch, q, k, v, kwargs):
    arrays = [_arr(*q), _arr(*k), _arr(*v)]
    results = []
    for lib in (gradspec, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        extra = {key: lib.tensor(val) if isinstance(val, np.ndarray) else val for key, val in kwargs.items()}
        lib.manual_seed(3)
        out = lib.nn.functional.scaled_dot_product_attention(*ts, **extra)
        _loss(lib, [out]).backward()
        results.append([out] + [t.grad for t in ts])
    for a, b in zip(*results):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=2e-6)


def test_scaled_dot_product_attention_is_one_node_and_refuses_mask_with_causal():
    q = gradspec.randn(2, 4, 3, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert type(out.grad_fn).__name__ == "ScaledDotProductAttentionBackward0"
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=gradspec.ones(4, 4, dtype=gradspec.bool), is_causal=True)


# ---- MultiheadAttention ---------------------------------------------------------------------------

def _mha(**kwargs):
    return lambda lib: lib.nn.MultiheadAttention(E, H, **kwargs)


_Q, _K = _arr(L, N, E), _arr(S, N, E)
_KPM = np.zeros((N, S), bool)
_KPM[0, 3:] = True
_KPM[2, 1] = True
_BOOL = RNG.random((L, S)) > 0.2
_BOOL[:, 0] = False
_CAUSAL = np.triu(np.full((L, L), -np.inf, np.float32), 1)

MHA = [
    ("self", _mha(), [(_Q, True)], lambda m, x: m(x, x, x)),
    ("self-no-weights", _mha(), [(_Q, True)], lambda m, x: m(x, x, x, need_weights=False)),
    ("cross-per-head", _mha(), [(_Q, True), (_K, True)], lambda m, x, y: m(x, y, y, average_attn_weights=False)),
    ("masks", _mha(), [(_Q, True), (_K, True), (_KPM, False), (_arr(L, S), False)],
     lambda m, x, y, kp, a: m(x, y, y, key_padding_mask=kp, attn_mask=a)),
    ("masks-no-weights", _mha(), [(_Q, True), (_K, True), (_KPM, False), (_arr(L, S), False)],
     lambda m, x, y, kp, a: m(x, y, y, key_padding_mask=kp, attn_mask=a, need_weights=False)),
    ("bool-mask", _mha(), [(_Q, True), (_K, True), (_BOOL, False)], lambda m, x, y, a: m(x, y, y, attn_mask=a)),
    ("kdim-vdim-bias-kv-zero-attn", _mha(kdim=6, vdim=7, add_bias_kv=True, add_zero_attn=True),
     [(_Q, True), (_arr(S, N, 6), True), (_arr(S, N, 7), True)], lambda m, x, y, z: m(x, y, z)),
    ("causal", _mha(), [(_Q, True), (_CAUSAL, False)],
     lambda m, x, a: m(x, x, x, attn_mask=a, is_causal=True, need_weights=False)),
    ("unbatched-no-bias", _mha(bias=False), [(_Q[:, 0], True)], lambda m, x: m(x, x, x)),
]


@pytest.mark.parametrize("name,make,inputs,call", MHA, ids=[m[0] for m in MHA])
def test_multihead_attention_matches_torch(torch, name, make, inputs, call):
    _compare(torch, make, inputs, call)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_dropout_draws_as_torch(torch, need_weights):
    _compare(torch, _mha(batch_first=True, dropout=0.3), [(_Q, True)],
             lambda m, x: m(x, x, x, need_weights=need_weights), train=True)


# ---- Transformer ---------------------------------------------------------------------------------

_SRC, _TGT = _arr(S, N, E), _arr(L, N, E)
LAYERS = [dict(dropout=0.0), dict(dropout=0.0, norm_first=True, activation="gelu"), dict(dropout=0.2),
          dict(dropout=0.0, batch_first=True, bias=False)]


@pytest.mark.parametrize("kwargs", LAYERS, ids=[str(i) for i in range(len(LAYERS))])
def test_encoder_layer_matches_torch(torch, kwargs):
    _compare(torch, lambda lib: lib.nn.TransformerEncoderLayer(E, H, 16, **kwargs), [(_SRC, True)],
             lambda m, x: m(x), train=True)


@pytest.mark.parametrize("kwargs", LAYERS, ids=[str(i) for i in range(len(LAYERS))])
def test_decoder_layer_matches_torch(torch, kwargs):
    first = kwargs.get("batch_first", False)
    tgt, mem = (_TGT.transpose(1, 0, 2).copy(), _SRC.transpose(1, 0, 2).copy()) if first else (_TGT, _SRC)
    _compare(torch, lambda lib: lib.nn.TransformerDecoderLayer(E, H, 16, **kwargs), [(tgt, True), (mem, True)],
             lambda m, x, y: m(x, y), train=True)


def test_transformer_matches_torch_with_dropout_and_masks(torch):
    _compare(torch, lambda lib: lib.nn.Transformer(E, H, 2, 2, 16, dropout=0.1),
             [(_SRC, True), (_TGT, True), (_CAUSAL, False), (_KPM, False)],
             lambda m, x, y, c, kp: m(x, y, tgt_mask=c, src_key_padding_mask=kp, memory_key_padding_mask=kp),
             train=True, atol=5e-6)


def test_encoder_detects_a_causal_mask_and_keeps_layers_equal(torch):
    _compare(torch, lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0), 2,
                                                          lib.nn.LayerNorm(E)),
             [(_TGT, True), (_CAUSAL, False), (_KPM[:, :L], False)],
             lambda m, x, c, kp: m(x, mask=c, src_key_padding_mask=kp), train=True)
    mask = gradspec.nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(3).numpy())


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.MultiheadAttention(E, H, kdim=6, vdim=7, add_bias_kv=True),
    lambda lib: lib.nn.TransformerEncoderLayer(E, H, 16),
    lambda lib: lib.nn.TransformerDecoderLayer(E, H, 16, norm_first=True),
    lambda lib: lib.nn.Transformer(E, H, 1, 1, 16),
])
def test_initial_parameters_equal_torchs_after_manual_seed(torch, make):
    gradspec.manual_seed(5)
    torch.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = make(gradspec).state_dict(), make(torch).state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy(), err_msg=key)


def test_encoder_warns_as_torch_about_nested_tensors(torch):
    for lib in (gradspec, torch):
        with pytest.warns(UserWarning, match="self.use_nested_tensor is False because encoder_layer.self_attn."
                                             "batch_first was not True"):
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(E, H, 16), 1)


def test_attention_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        gradspec.nn.MultiheadAttention(6, 4)
    m = gradspec.nn.MultiheadAttention(E, H)
    x = gradspec.randn(L, N, E)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is"):
        m(x, x, x, attn_mask=gradspec.zeros(L, L + 1))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        gradspec.nn.TransformerEncoderLayer(E, H, activation="tanh")
