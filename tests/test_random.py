"""Tests for runtime/random.py, the bit-exact port of PyTorch's CPU RNG.

Expected values below were printed by real PyTorch 2.13.0 (CPU wheel, x86-64
AVX-512 machine, so the AVX2 normal kernel).  Floats are written as the exact
double value of each float32/float64 element, and every comparison is exact
(bitwise): torch's CPU generator is deterministic, and the port reproduces it
bit for bit, including float32 ``normal_`` (see the module docstring).

The second half compares against torch itself on random inputs and is skipped
when torch is not installed.
"""

import importlib.util
import pathlib
from fractions import Fraction

import numpy as np
import pytest

# Load the module from its file: the `runtime` package is under construction
# and may not import.
_PATH = pathlib.Path(__file__).resolve().parent.parent / "runtime" / "random.py"
_spec = importlib.util.spec_from_file_location("runtime_random", _PATH)
R = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(R)

f32, f64 = np.float32, np.float64


def assert_bitwise_equal(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes(), f"\n{actual!r}\n!=\n{expected!r}"


# --------------------------------------------------------------------------- #
# Hard-coded torch outputs.

RAND_3 = [0.49625658988952637, 0.7682217955589294, 0.08847743272781372]

RANDN_5 = [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427]

RANDN_20 = [
    -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.5988394618034363,
    -1.5550950765609741, -0.3413603901863098, 1.85300612449646, 0.46809640526771545, -0.1577124446630478,
    1.4436601400375366, 0.26604941487312317, 1.3893661499023438, 1.586334228515625, 0.946298360824585,
    -0.843676745891571, 0.9318265914916992, 1.2590092420578003, 2.0049805641174316, 0.05373690277338028,
]

# 37 = two whole chunks of 16, then the last 16 redone from fresh uniforms:
# elements 0-3 and 20 agree with RANDN_20, the rest does not.
RANDN_37 = [
    -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.8487103581428528,
    0.6920091509819031, -0.31601276993751526, -2.1152193546295166, 0.32227492332458496, -1.2633347511291504,
    0.34998318552970886, 0.30813392996788025, 0.11984150856733322, 1.237657904624939, 1.1167771816253662,
    -0.2472781538963318, -1.3526537418365479, -1.6959311962127686, 0.5666506290435791, 0.7935083508491516,
    0.5988394618034363, 0.11241118609905243, 0.6407923698425293, 0.441156268119812, -0.21586325764656067,
    -0.7425481677055359, 0.5627213716506958, 0.25962740182876587, -0.17396099865436554, 2.3022053241729736,
    -1.4688938856124878, -1.586688756942749, 1.203223705291748, 0.08453469723463058, -1.2001394033432007,
    -0.004785737954080105, -0.5180748105049133,
]

RANDN_20_F64 = [
    -2.310411800234176, -0.3732508612577643, -1.0608166785462863, 0.9995093547811761, -0.019964750907762653,
    0.2102998901016947, 0.17718935139366584, -0.830510051008449, 0.23871805816817063, 0.7335283685272841,
    -1.3218818291421377, 1.3148113651971234, -0.6870036940435463, 1.4880743158106724, -0.4484158047114511,
    -0.8910030351707375, 0.6748575435940039, 1.0468653769814655, 0.15429517864658948, -0.7498915228391941,
]


def test_randn_small_uses_scalar_box_muller():
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(5, f32), np.array(RANDN_5, f32))


def test_rand():
    R.manual_seed(0)
    assert_bitwise_equal(R.uniform(3, f32), np.array(RAND_3, f32))


def test_randn_vectorised_whole_chunks():
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(20, f32), np.array(RANDN_20, f32))


def test_randn_vectorised_tail_is_recomputed():
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(37, f32), np.array(RANDN_37, f32))


def test_float64_variants():
    R.manual_seed(0)
    assert_bitwise_equal(
        R.normal(5, f64),
        np.array([1.5409961082440433, -0.2934289057609464, -2.1787893820745574, 0.5684312772806678,
                  -1.084522342424021]),
    )
    R.manual_seed(0)
    assert_bitwise_equal(R.uniform(3, f64), np.array([0.9700530018065531, 0.707819864399788, 0.45938294312745087]))
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(20, f64), np.array(RANDN_20_F64))


def test_shape_is_kept():
    R.manual_seed(0)
    assert_bitwise_equal(R.normal((4, 5), f32), np.array(RANDN_20, f32).reshape(4, 5))


def test_normal_mean_std():
    # mean + std * z is one fused multiply-add in torch; the float32 one
    # differs from a separately rounded product for some elements.
    R.manual_seed(0)
    assert_bitwise_equal(
        R.normal(20, f32, 0.5, 2.0),
        np.array(
            [-1.7516796588897705, -1.804720401763916, -0.0011571645736694336, -0.3677576184272766,
             1.6976789236068726, -2.6101901531219482, -0.18272078037261963, 4.20601224899292,
             1.4361927509307861, 0.18457511067390442, 3.3873202800750732, 1.0320987701416016,
             3.2787322998046875, 3.67266845703125, 2.39259672164917, -1.187353491783142,
             2.3636531829833984, 3.0180184841156006, 4.509961128234863, 0.6074737906455994],
            f32,
        ),
    )
    R.manual_seed(0)
    assert_bitwise_equal(
        R.normal(3, f32, 0.5, 2.0), np.array([3.5819921493530273, -0.08685781061649323, -3.857578754425049], f32)
    )
    R.manual_seed(0)
    assert_bitwise_equal(
        R.normal(17, f64, -1.5, 0.3),
        np.array(
            [-2.193123540070253, -1.689982382660253, -1.8782773967158315, -1.7180853186196232,
             -1.5059894252723287, -1.4369100329694915, -1.4468431945819002, -1.7491530153025348,
             -1.428384582549549, -1.5728038147376573, -1.7319033831887454, -1.978554446423492,
             -1.706101108213064, -1.0535777052567983, -1.6345247414134354, -1.7673009105512212,
             -1.297542736921799]
        ),
    )


def test_uniform_range():
    R.manual_seed(0)
    assert_bitwise_equal(
        R.uniform(5, f32, -2, 3),
        np.array([0.48128294944763184, 1.841109037399292, -1.5576128959655762, -1.3398475646972656,
                  -0.46288591623306274], f32),
    )


def test_uniform_never_returns_high():
    # Element 6 computes to exactly 2**20 + 1 == high; torch returns low there.
    R.manual_seed(4)
    expected = [1048576.5, 1048576.5, 1048576.125, 1048576.25, 1048576.0, 1048576.0, 1048576.0, 1048576.875]
    assert_bitwise_equal(R.uniform(8, f32, 2.0**20, 2.0**20 + 1), np.array(expected, f32))


def test_randint():
    R.manual_seed(0)
    assert_bitwise_equal(R.randint(0, 10, (8,), np.int64), np.array([4, 9, 3, 0, 3, 9, 7, 3]))
    R.manual_seed(0)
    assert_bitwise_equal(
        R.randint(-2**40, 2**40, (4,), np.int64),
        np.array([-358231004625, -593374360384, 291447657211, -258354086553]),
    )


def test_randint_switches_to_64_bit_draws_at_2_pow_28():
    R.manual_seed(0)
    assert_bitwise_equal(R.randint(0, 2**28, 4, np.int64), np.array([130329135, 136432832, 195187451, 149257575]))
    # 8 draws consumed, not 4:
    assert_bitwise_equal(R.uniform(2, f32), np.array([0.455627977848053, 0.6323062777519226], f32))


def test_randperm():
    R.manual_seed(0)
    assert_bitwise_equal(R.randperm(10), np.array([4, 1, 7, 5, 3, 9, 0, 8, 6, 2]))


def test_randperm_edge_sizes():
    R.manual_seed(0)
    state = R.default_generator.get_state()
    assert_bitwise_equal(R.randperm(0), np.zeros(0, np.int64))
    assert_bitwise_equal(R.randperm(1), np.zeros(1, np.int64))
    assert_bitwise_equal(R.default_generator.get_state(), state)  # no draws
    assert R.randperm(7, np.int32).dtype == np.int32


def test_random_full_range():
    R.manual_seed(0)
    assert_bitwise_equal(
        R.random(3, np.int64), np.array([900450186894289455, 3969543146641149120, 1895649597198586619])
    )


def test_reseed_reproduces_stream():
    R.manual_seed(0)
    first = [R.uniform(7, f32), R.normal(33, f32), R.randint(0, 5, 9, np.int64)]
    R.manual_seed(0)
    second = [R.uniform(7, f32), R.normal(33, f32), R.randint(0, 5, 9, np.int64)]
    for a, b in zip(first, second):
        assert_bitwise_equal(a, b)
    assert R.initial_seed() == 0


def test_interleaved_calls_share_one_stream():
    R.manual_seed(1234)
    assert_bitwise_equal(
        R.uniform(3, f32), np.array([0.028979241847991943, 0.4018985629081726, 0.25984418392181396], f32)
    )
    assert_bitwise_equal(R.normal(2, f32), np.array([1.2447148561477661, -0.5560803413391113], f32))
    assert_bitwise_equal(R.randint(-3, 3, 5, np.int64), np.array([0, -2, 0, 0, -2]))
    assert_bitwise_equal(
        R.normal(17, f32),
        np.array(
            [-1.3892054557800293, -0.5150091648101807, 1.4255266189575195, 0.7986854314804077,
             -1.4948757886886597, 0.8809611201286316, -1.178647518157959, -0.9339950084686279,
             -0.567545473575592, 0.2562917470932007, -0.40304696559906006, 0.4195273816585541,
             0.9380273818969727, 0.00781648512929678, -0.3138604760169983, -1.156704306602478,
             1.8408576250076294],
            f32,
        ),
    )
    assert_bitwise_equal(R.randperm(6), np.array([2, 4, 1, 3, 0, 5]))
    assert_bitwise_equal(R.uniform(2, f64), np.array([0.022431112637428696, 0.4708802881945763]))


def test_scalar_normal_cache_survives_calls_and_vector_path():
    # randn(3) uses two Box-Muller pairs and caches the second pair's sine;
    # the >= 16 kernel leaves that cache alone, and randn(1) then returns it:
    # element 3 of randn(5).
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(3, f32), np.array(RANDN_5[:3], f32))
    R.normal(16, f32)
    assert_bitwise_equal(R.normal(1, f32), np.array(RANDN_5[3:4], f32))


def test_manual_seed_clears_normal_cache():
    R.manual_seed(0)
    R.normal(3, f32)
    R.manual_seed(0)
    assert_bitwise_equal(R.normal(1, f32), np.array(RANDN_5[:1], f32))


def test_get_state_layout_matches_torch():
    R.manual_seed(0)
    state = R.default_generator.get_state()
    assert state.dtype == np.uint8 and state.shape == (5056,)
    # initial seed 0, left = 1, seeded = 1, next = 0, first state word 0
    assert state[:32].tolist() == [0] * 8 + [1, 0, 0, 0, 1, 0, 0, 0] + [0] * 16
    R.uniform(1, f32)
    # left = 624, next = 1, state regenerated
    assert R.default_generator.get_state()[:32].tolist() == (
        [0] * 8 + [112, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 18, 13, 161, 145, 0, 0, 0, 0]
    )


def test_get_state_set_state_round_trip():
    R.manual_seed(0)
    R.normal(3, f32)  # leaves a cached normal sample in the state
    R.uniform(700, f32)  # crosses a regeneration of the mt19937 block
    state = R.default_generator.get_state()
    expected = [R.normal(1, f32), R.normal(40, f32), R.uniform(5, f64), R.randperm(12)]
    R.manual_seed(99)
    R.default_generator.set_state(state)
    assert_bitwise_equal(R.default_generator.get_state(), state)
    actual = [R.normal(1, f32), R.normal(40, f32), R.uniform(5, f64), R.randperm(12)]
    for a, b in zip(actual, expected):
        assert_bitwise_equal(a, b)
    assert R.initial_seed() == 0


def test_set_state_rejects_bad_states():
    with pytest.raises(RuntimeError):
        R.Generator().set_state(np.zeros(10, np.uint8))
    with pytest.raises(RuntimeError):
        R.Generator().set_state(np.zeros(5056, np.uint8))  # not seeded, left == 0


def test_separate_generator_is_independent():
    g = R.Generator()
    assert g.initial_seed() == 67280421310721  # torch.Generator()'s default
    R.manual_seed(0)
    assert_bitwise_equal(
        R.uniform(3, f32, generator=g), np.array([0.267295241355896, 0.8725283145904541, 0.3352888226509094], f32)
    )
    R.normal(30, f32, generator=g)
    assert_bitwise_equal(R.uniform(3, f32), np.array(RAND_3, f32))
    assert R.Generator().manual_seed(0).initial_seed() == 0


def test_seed_wraps_like_torch():
    assert R.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    assert R.Generator().manual_seed(2**40 + 5).initial_seed() == 2**40 + 5
    # only the low 32 bits seed mt19937
    assert_bitwise_equal(
        R.uniform(4, f32, generator=R.Generator().manual_seed(2**32 + 7)),
        R.uniform(4, f32, generator=R.Generator().manual_seed(7)),
    )
    with pytest.raises(RuntimeError):
        R.manual_seed(2**64)


def test_nondeterministic_seed():
    g = R.Generator()
    s = g.seed()
    assert 0 <= s < 2**64 and g.initial_seed() == s
    assert_bitwise_equal(R.uniform(4, f32, generator=g), R.uniform(4, f32, generator=R.Generator().manual_seed(s)))


def test_bernoulli_generic_kernel(monkeypatch):
    # AMD, ARM, ... : one uniform double per element, u < p.
    monkeypatch.setattr(R, "_BERNOULLI_USES_MKL", False)
    R.manual_seed(0)
    assert_bitwise_equal(
        R.bernoulli(0.5, 16, np.int64), np.array([0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1])
    )


def test_bernoulli_mkl_kernel(monkeypatch):
    # Intel CPUs: one random() seeds MKL's MCG31m1.  Expected values from
    # viRngBernoulli in libmkl_rt 2024.2 with that seed (2357136044 for
    # manual_seed(0)).
    monkeypatch.setattr(R, "_BERNOULLI_USES_MKL", True)
    R.manual_seed(0)
    assert_bitwise_equal(
        R.bernoulli(0.5, 16, np.int64), np.array([1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1])
    )
    assert_bitwise_equal(
        R.bernoulli(0.3, 8, np.int64), np.array([1, 1, 0, 0, 1, 1, 0, 0])
    )  # second stream, seeded 2546248239
    R.manual_seed(0)
    assert_bitwise_equal(
        R.bernoulli(0.8, 20, f32),
        np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], f32),
    )


def test_mcg31m1_matches_the_recurrence():
    x = [123456789 % (2**31 - 1)]
    for _ in range(2099):
        x.append(x[-1] * 1132489760 % (2**31 - 1))
    assert R._mcg31m1(123456789, 2100).tolist() == x
    assert R._mcg31m1(0, 2).tolist() == [1, 1132489760]  # a zero state becomes 1


def test_argument_checks():
    with pytest.raises(TypeError):
        R.normal(3, np.int64)
    with pytest.raises(RuntimeError):
        R.normal(3, f32, 0.0, -1.0)
    with pytest.raises(RuntimeError):
        R.uniform(3, f32, 1.0, 0.0)
    with pytest.raises(RuntimeError):
        R.randint(5, 5, 3, np.int64)
    with pytest.raises(RuntimeError):
        R.bernoulli(1.5, 3, f32)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.7])
def test_exact_fma_against_fractions(p):
    rng = np.random.default_rng(int(p * 100))
    a = rng.standard_normal(2000) * 2.0 ** rng.integers(-20, 20, 2000)
    b = rng.standard_normal(2000) * 2.0 ** rng.integers(-20, 20, 2000)
    c = np.where(rng.random(2000) < p, -(a * b), rng.standard_normal(2000))  # heavy cancellation
    exact = [Fraction(x) * Fraction(y) + Fraction(z) for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())]
    assert_bitwise_equal(R._fma64(a, b, c), np.array([float(e) for e in exact]))
    a32, b32 = a.astype(f32), b.astype(f32)
    c32 = np.where(rng.random(2000) < p, -(a32.astype(f64) * b32).astype(f32), c.astype(f32))
    exact32 = [Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)) for x, y, z in zip(a32, b32, c32)]
    assert_bitwise_equal(R._fma32(a32, b32, c32), np.array([_to_f32(e) for e in exact32], f32))


def _to_f32(q):
    """Correctly rounded float32 of a Fraction (float() then float32 could round twice)."""
    near = f32(float(q))
    candidates = [np.nextafter(near, f32(-np.inf)), near, np.nextafter(near, f32(np.inf))]
    # nearest, ties to the even significand
    return min(candidates, key=lambda v: (abs(q - Fraction(float(v))), int(np.array(v).view(np.int32)) & 1))


# --------------------------------------------------------------------------- #
# Randomised comparisons against real torch.


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _t(torch, dtype):
    return {f32: torch.float32, f64: torch.float64, np.int64: torch.int64, np.int32: torch.int32}[dtype]


@pytest.mark.parametrize("dtype", [f32, f64])
def test_against_torch_rand_randn(torch, dtype):
    rng = np.random.default_rng(0)
    sizes = list(range(0, 40)) + [63, 64, 65, 1000, 64 * 784 + 3]
    for n in sizes:
        seed = int(rng.integers(0, 2**63))
        torch.manual_seed(seed)
        R.manual_seed(seed)
        tt = _t(torch, dtype)
        assert_bitwise_equal(R.uniform(n, dtype), torch.rand(n, dtype=tt).numpy())
        assert_bitwise_equal(R.normal(n, dtype), torch.randn(n, dtype=tt).numpy())
        assert_bitwise_equal(R.normal(n, dtype), torch.randn(n, dtype=tt).numpy())  # uses any cached sample
        mean, std = float(rng.normal() * 3), float(rng.random() * 4)
        low, high = sorted(rng.normal(size=2) * 10)
        assert_bitwise_equal(R.normal(n, dtype, mean, std), torch.empty(n, dtype=tt).normal_(mean, std).numpy())
        assert_bitwise_equal(R.uniform(n, dtype, low, high), torch.empty(n, dtype=tt).uniform_(low, high).numpy())
        assert_bitwise_equal(R.default_generator.get_state(), torch.get_rng_state().numpy())


def test_against_torch_large_float32_normal(torch):
    # Exercises the float32 Cephes log/sincos replay and the FMA emulation on
    # many values.
    torch.manual_seed(2024)
    R.manual_seed(2024)
    assert_bitwise_equal(R.normal(1_000_003, f32), torch.randn(1_000_003).numpy())
    assert_bitwise_equal(R.normal(500_000, f32, -0.7, 3.3), torch.empty(500_000).normal_(-0.7, 3.3).numpy())


def test_against_torch_randint(torch):
    rng = np.random.default_rng(1)
    ranges = [(0, 2), (-7, 7), (0, 2**28 - 1), (0, 2**28), (-2**27, 2**27), (0, 2**31), (0, 2**32), (0, 2**32 + 1),
              (-2**62, 2**62), (-2**63, 2**63 - 1)]
    for low, high in ranges:
        for dtype in [np.int64, np.int32, f32, f64]:
            if dtype == np.int32 and (low < -2**31 or high > 2**31):
                continue
            if (dtype == f32 and high - low > 2**24) or (dtype == f64 and high - low > 2**53):
                continue
            seed = int(rng.integers(0, 2**63))
            torch.manual_seed(seed)
            R.manual_seed(seed)
            expected = torch.randint(low, high, (5, 7), dtype=_t(torch, dtype)).numpy()
            assert_bitwise_equal(R.randint(low, high, (5, 7), dtype), expected)
            assert_bitwise_equal(R.default_generator.get_state(), torch.get_rng_state().numpy())


def test_against_torch_random_full_range(torch):
    torch.manual_seed(3)
    R.manual_seed(3)
    for dtype, tdtype in [(np.int64, torch.int64), (np.int32, torch.int32), (np.int16, torch.int16),
                          (np.int8, torch.int8), (np.uint8, torch.uint8), (f32, torch.float32),
                          (f64, torch.float64), (np.bool_, torch.bool)]:
        assert_bitwise_equal(R.random((4, 5), dtype), torch.empty((4, 5), dtype=tdtype).random_().numpy())


def test_against_torch_randperm(torch):
    for n in [0, 1, 2, 3, 10, 100, 1000, 60000]:
        torch.manual_seed(n)
        R.manual_seed(n)
        assert_bitwise_equal(R.randperm(n), torch.randperm(n).numpy())
        assert_bitwise_equal(R.randperm(n, f32), torch.randperm(n, dtype=torch.float32).numpy())


def test_against_torch_bernoulli_and_dropout(torch):
    # Whichever kernel this machine's torch uses, the port picks the same one.
    rng = np.random.default_rng(2)
    for p in [0.0, 1.0, 0.5, 0.9, float(rng.random()), float(rng.random())]:
        seed = int(rng.integers(0, 2**63))
        torch.manual_seed(seed)
        R.manual_seed(seed)
        for dtype, tdtype in [(f32, torch.float32), (np.int64, torch.int64), (np.bool_, torch.bool)]:
            expected = torch.empty((31, 67), dtype=tdtype).bernoulli_(p).numpy()
            assert_bitwise_equal(R.bernoulli(p, (31, 67), dtype), expected)
    torch.manual_seed(7)
    R.manual_seed(7)
    x = R.normal((32, 100), f32)
    y = torch.nn.functional.dropout(torch.randn(32, 100), 0.25, training=True).numpy()
    # F.dropout: input * (bernoulli_(1 - p) / (1 - p)), in float32
    mask = R.bernoulli(0.75, (32, 100), f32)
    assert_bitwise_equal(x * (mask / f32(0.75)), y)


def test_against_torch_state_exchange(torch):
    # torch's state bytes load here and continue the same stream, including a
    # cached normal sample, and vice versa.
    torch.manual_seed(11)
    torch.randn(3)
    torch.rand(650)
    R.default_generator.set_state(torch.get_rng_state().numpy())
    assert_bitwise_equal(R.normal(1, f32), torch.randn(1).numpy())
    assert_bitwise_equal(R.normal(3, f64), torch.randn(3, dtype=torch.float64).numpy())
    torch.set_rng_state(torch.from_numpy(R.default_generator.get_state()))
    assert_bitwise_equal(R.normal(50, f32), torch.randn(50).numpy())
    assert_bitwise_equal(R.default_generator.get_state(), torch.get_rng_state().numpy())


def test_against_torch_generator_objects(torch):
    g, G = torch.Generator(), R.Generator()
    assert_bitwise_equal(G.get_state(), g.get_state().numpy())
    assert_bitwise_equal(R.normal(40, f32, generator=G), torch.randn(40, generator=g).numpy())
    g.manual_seed(2**63 + 5)
    G.manual_seed(2**63 + 5)
    assert G.initial_seed() == g.initial_seed()
    assert_bitwise_equal(R.randperm(30, generator=G), torch.randperm(30, generator=g).numpy())
    assert_bitwise_equal(R.uniform(9, f64, generator=G), torch.rand(9, dtype=torch.float64, generator=g).numpy())
    assert_bitwise_equal(G.get_state(), g.get_state().numpy())
