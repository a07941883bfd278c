"""Bit-exact reproduction of PyTorch's CPU random number generation.

PyTorch's CPU generator (``aten/src/ATen/CPUGeneratorImpl.cpp``) is a plain
mt19937 seeded with ``init_genrand(seed & 0xffffffff)``: ``random()`` is one
32-bit draw and ``random64()`` is two draws, the first one the high word.
numpy's ``MT19937`` bit generator produces the identical 32-bit stream (a
``RandomState`` seeded with a 32-bit integer runs the same ``init_genrand``),
so draws come from numpy in bulk; this module then reproduces, operation for
operation, how each torch CPU kernel turns draws into values
(``ATen/core/DistributionsHelper.h``, ``ATen/core/TransformationHelper.h``,
``ATen/native/cpu/DistributionTemplates.h``, ``DistributionKernels.cpp``,
``randperm_cpu`` in ``TensorFactories.cpp``).

Three things matter for bit-exactness beyond the draws themselves:

* torch is built with GCC, whose default ``-ffp-contract=fast`` turns
  ``a * b + c`` into one fused multiply-add wherever the kernel is compiled
  with FMA enabled.  All the CPU kernels used here are, so e.g. ``uniform_``
  computes ``fma(x, to - from, from)``.  numpy has no FMA, so ``_fma32`` and
  ``_fma64`` below compute correctly rounded ones.
* ``normal_`` on >= 16 contiguous float32 elements runs the AVX2 kernel
  (torch deliberately does not use an AVX-512 one), which uses the Cephes-style
  ``log256_ps`` / ``sincos256_ps`` of ``ATen/native/cpu/avx_mathfun.h`` rather
  than libm.  ``_log256`` / ``_sincos256`` replay those in float32, including
  which multiply/add pairs GCC fused (determined by comparing against torch).
* Every other transcendental call in the kernels is a scalar libm call on
  doubles; Python's ``math`` module calls the same libm, numpy's vectorised
  ``log`` / ``log1p`` do not always round the same way, so they are not used.

Float32 ``normal`` assumes torch runs its AVX2 kernel, i.e. an x86-64 CPU with
AVX2 (elsewhere torch uses scalar libm ``logf`` / ``cosf`` / ``sinf`` instead).
``bernoulli`` follows torch in taking a different path on Intel CPUs (see there).
"""

import math
import os
import platform

import numpy as np

__all__ = [
    "Generator",
    "default_generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "uniform",
    "normal",
    "randint",
    "random",
    "randperm",
    "bernoulli",
]

_MT_N = 624
_UINT64_MASK = (1 << 64) - 1

# Seed of a freshly constructed torch.Generator() (default_rng_seed_val in
# CPUGeneratorImpl.h).  torch's *default* generator is instead seeded from
# /dev/urandom when torch starts, and so is ours.
_FRESH_GENERATOR_SEED = 67280421310721

# Byte layout of torch.get_rng_state(): CPUGeneratorImplState, i.e. the legacy
# THGenerator POD (state words widened to uint64) followed by the float normal
# cache, with the padding of the C structs.
_STATE_DTYPE = np.dtype(
    {
        "names": [
            "the_initial_seed", "left", "seeded", "next", "state",
            "normal_x", "normal_y", "normal_rho", "normal_is_valid",
            "next_float_normal_sample", "is_next_float_normal_sample_valid",
        ],
        "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _MT_N), "<f8", "<f8", "<f8", "<i4", "<f4", "u1"],
        "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
        "itemsize": 5056,
    }
)


class Generator:
    """A CPU generator with the stream, seeding and state bytes of ``torch.Generator()``."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise ValueError(f"only cpu generators are supported, got device {device!r}")
        self.device = "cpu"
        self.manual_seed(_FRESH_GENERATOR_SEED)

    def __repr__(self) -> str:
        """torch's: notebooks display the generator a cell ends with (makemore's `torch.manual_seed(42)`)."""
        return f"<torch._C.Generator object at {id(self):#x}>"

    def manual_seed(self, seed):
        seed = int(seed)
        if not -(1 << 63) <= seed <= _UINT64_MASK:
            raise RuntimeError(f"Overflow when unpacking long long: {seed}")
        # torch stores the seed as uint64 (manual_seed(-1).initial_seed() is
        # 2**64 - 1) and init_genrand only uses its low 32 bits.
        self._seed = seed & _UINT64_MASK
        key = np.random.RandomState(self._seed & 0xFFFFFFFF).get_state()[1]
        self._load_mt(key, pos=_MT_N)
        # torch's mt19937 marks a just-seeded engine with next_ == 0; this only
        # shows in get_state() bytes, the stream is the same either way.
        self._fresh = True
        # Box-Muller of the scalar normal path makes two samples and keeps the
        # second for the next call (CPUGeneratorImpl::next_double_normal_sample_).
        self._next_double_normal = None
        # torch also stores a float cache in its state; no CPU kernel fills it,
        # it is only carried through get_state / set_state.
        self._next_float_normal = None
        return self

    def seed(self):
        # c10::detail::getNonDeterministicRandom on Linux: 8 bytes of /dev/urandom.
        new_seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as the same 5056 bytes ``torch.Generator.get_state()`` returns."""
        mt = self._bits.state["state"]
        pos = int(mt["pos"])
        state = np.zeros((), _STATE_DTYPE)
        state["the_initial_seed"] = self._seed
        # numpy's pos is the index of the next word to read (624: regenerate
        # first); torch keeps left = draws until regeneration + 1.
        state["left"] = _MT_N + 1 - pos
        state["seeded"] = 1
        state["next"] = 0 if self._fresh else pos
        state["state"] = mt["key"]
        if self._next_double_normal is not None:
            state["normal_is_valid"] = 1
            state["normal_y"] = self._next_double_normal
        if self._next_float_normal is not None:
            state["is_next_float_normal_sample_valid"] = 1
            state["next_float_normal_sample"] = self._next_float_normal
        return state.reshape(1).view(np.uint8).copy()

    def set_state(self, new_state):
        """Restore a state from ``get_state()`` here or from ``torch.get_rng_state()``."""
        raw = np.ascontiguousarray(new_state, dtype=np.uint8).reshape(-1)
        if raw.size != _STATE_DTYPE.itemsize:
            raise RuntimeError(
                f"Expected a CPUGeneratorImplState of size {_STATE_DTYPE.itemsize} "
                f"but found the input RNG state size to be {raw.size}"
            )
        state = raw.view(_STATE_DTYPE)[0]
        left, nxt = int(state["left"]), int(state["next"])
        if not (state["seeded"] and 0 < left <= _MT_N and nxt <= _MT_N):
            raise RuntimeError("Invalid mt19937 state")
        self._seed = int(state["the_initial_seed"])
        self._load_mt(state["state"].astype(np.uint32), pos=_MT_N + 1 - left)
        self._fresh = nxt == 0
        self._next_double_normal = float(state["normal_y"]) if state["normal_is_valid"] else None
        self._next_float_normal = (
            np.float32(state["next_float_normal_sample"]) if state["is_next_float_normal_sample_valid"] else None
        )

    def _load_mt(self, key, pos):
        self._bits = np.random.MT19937(0)
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    def _random(self, n):
        """n draws of torch's ``random()`` (32 bits each), as uint64."""
        if n:
            self._fresh = False
        return self._bits.random_raw(n)

    def _random64(self, n):
        """n draws of torch's ``random64()``: (first draw << 32) | second draw."""
        pairs = self._random(2 * n).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]


def _default_generator_seeded_like_torch():
    gen = Generator()
    gen.seed()
    return gen


default_generator = _default_generator_seeded_like_torch()


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


# --------------------------------------------------------------------------- #
# Exact fused multiply-add.


def _two_sum(a, b):
    """s, e with s = fl(a + b) and s + e == a + b exactly (Knuth)."""
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _round_to_odd(s, err):
    """x rounded to odd, given s = fl(x) and err = x - s exactly: an inexact
    result is whichever neighbour of x has an odd last bit.

    Rounding a round-to-odd value that has at least two extra bits once more,
    to nearest, gives the correctly rounded value (Boldo & Melquiond); that is
    what makes the FMAs below exact.
    """
    bits = s.view(np.int64)
    inexact_even = (err != 0) & ((bits & 1) == 0)
    toward_err = np.where((err > 0) == (s > 0), 1, -1)
    return np.where(inexact_even, bits + toward_err, bits).view(np.float64)


def _fma32(a, b, c):
    """float32 fma(a, b, c) = a * b + c rounded once."""
    s = np.multiply(a, b, dtype=np.float64)  # exact: 24 + 24 bits
    s += c
    # fl64(a * b + c) rounds to float32 correctly unless it broke a float32
    # tie: s exactly on a float32 midpoint (low 29 mantissa bits 1000...0), or
    # s in the float32 subnormal range.  Redo those few exactly, rounding to odd.
    suspect = (s.view(np.int64) & 0x1FFFFFFF) == 0x10000000
    tiny = np.abs(s) < 2.0**-125
    if suspect.any() or tiny.any():
        idx = np.nonzero(suspect | tiny)
        a, b, c = (np.broadcast_to(np.asarray(v, np.float64), s.shape)[idx] for v in (a, b, c))
        s[idx] = _round_to_odd(*_two_sum(a * b, c))
    return s.astype(np.float32)


def _split(a):
    """Veltkamp split of doubles into two 26-bit halves."""
    t = a * 134217729.0  # 2**27 + 1
    hi = t - (t - a)
    return hi, a - hi


def _fma64(a, b, c):
    """float64 fma(a, b, c), emulated (Boldo & Melquiond, "Emulation of FMA and
    correctly rounded sums: proved algorithms using rounding to odd", 2008):
    exact product ph + pl, exact c + ph = th + tl, then fl(th + RO(tl + pl)).
    Exact unless a * b overflows or underflows."""
    a, b, c = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, c)))
    ph = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    pl = ((a_hi * b_hi - ph) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    th, tl = _two_sum(c, ph)
    return th + _round_to_odd(*_two_sum(tl, pl))


# --------------------------------------------------------------------------- #
# Distributions.


def _gen(generator):
    return default_generator if generator is None else generator


def _numel(shape):
    return math.prod((shape,) if isinstance(shape, int) else shape)


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"expected float32 or float64, got {dtype}")
    return dtype


def _uniform01(gen, n, dtype):
    """uniform_real_distribution<T>(0, 1): 24 bits of random() for float,
    53 bits of random64() for double, times 2**-digits (exact)."""
    if dtype == np.float32:
        return (gen._random(n) & 0xFFFFFF).astype(np.float32) * np.float32(2.0**-24)
    return (gen._random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53


def uniform(shape, dtype, low=0.0, high=1.0, generator=None):
    """``torch.rand`` / ``Tensor.uniform_(low, high)``."""
    dtype = _float_dtype(dtype)
    low, high = dtype.type(low), dtype.type(high)
    if not low <= high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
    x = _uniform01(_gen(generator), _numel(shape), dtype)
    # uniform_real: x * (to - from) + from, contracted to an FMA.  It can round
    # up to `to` itself; torch 2.13 returns `from` then, keeping [from, to).
    fma = _fma32 if dtype == np.float32 else _fma64
    values = fma(x, high - low, low).astype(dtype, copy=False)
    return np.where(values == high, low, values).reshape(shape)


_CEPHES_LOG = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
               1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]


def _log256(x):
    """log256_ps (avx_mathfun.h) on positive normal float32."""
    f32 = np.float32
    bits = x.view(np.int32)
    # Split into exponent e and mantissa x in [0.5, 1), then move x below
    # sqrt(1/2) up by one octave so that x - 1 is in [sqrt(1/2) - 1, sqrt(2) - 1).
    e = ((bits >> 23) - 0x7F).astype(f32) + f32(1)
    x = ((bits & ~0x7F800000) | np.float32(0.5).view(np.int32)).view(f32)
    below = x < f32(0.707106781186547524)
    x = (x - f32(1)) + np.where(below, x, f32(0))
    e = e - np.where(below, f32(1), f32(0))
    z = x * x
    y = np.full_like(x, _CEPHES_LOG[0])
    for coeff in _CEPHES_LOG[1:]:  # Horner steps, each mul + add fused
        y = _fma32(y, x, f32(coeff))
    y = y * x
    # y * z + e * q1: GCC fuses the first product, e * q1 is rounded.
    y = _fma32(y, z, e * f32(-2.12194440e-4))
    y = _fma32(-z, f32(0.5), y)
    return _fma32(e, f32(0.693359375), x + y)


def _sincos256(x):
    """sincos256_ps (avx_mathfun.h) on non-negative float32: (sin, cos)."""
    f32 = np.float32
    # Octant j (rounded up to even) and x reduced by j * pi/4 in three parts.
    j = (np.trunc(x * f32(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(f32)
    x = _fma32(y, f32(-0.78515625), x)
    x = _fma32(y, f32(-2.4187564849853515625e-4), x)
    x = _fma32(y, f32(-3.77489497744594108e-8), x)
    z = x * x
    # cos polynomial: 1 - z/2 + z^2 * (...); in y * z - z * 0.5 the first product is fused.
    cos_poly = _fma32(_fma32(np.full_like(z, 2.443315711809948e-5), z, f32(-1.388731625493765e-3)),
                      z, f32(4.166664568298827e-2))
    cos_poly = _fma32(cos_poly * z, z, -(z * f32(0.5))) + f32(1)
    # sin polynomial: x + x * z * (...).
    sin_poly = _fma32(_fma32(np.full_like(z, -1.9515295891e-4), z, f32(8.3321608736e-3)),
                      z, f32(-1.6666654611e-1))
    sin_poly = _fma32(sin_poly * z, x, x)
    use_sin_poly = (j & 2) == 0  # for sin; cos takes the other polynomial
    sin = np.where(use_sin_poly, sin_poly, cos_poly)
    cos = np.where(use_sin_poly, cos_poly, sin_poly)
    sin = np.where((j & 4) != 0, -sin, sin)
    cos = np.where(((j - 2) & 4) == 0, -cos, cos)
    return sin, cos


def _box_muller16_avx2(u, mean, std):
    """normal_fill_16_AVX2 on rows of 16 uniforms: first 8 feed the radius,
    last 8 the angle; outputs cos values then sin values."""
    f32 = np.float32
    radius = np.sqrt(f32(-2) * _log256(f32(1) - u[:, :8]))
    sin, cos = _sincos256(f32(2.0 * math.pi) * u[:, 8:])
    return np.concatenate([_fma32(radius * cos, std, mean), _fma32(radius * sin, std, mean)], axis=1)


def _box_muller16_f64(u, mean, std):
    """normal_fill_16<double>: the same pairing with libm log / cos / sin."""
    radius = np.sqrt(-2.0 * _libm_log(1.0 - u[:, :8]))
    theta = 2.0 * math.pi * u[:, 8:]
    return np.concatenate(
        [_fma64(radius * _libm_cos(theta), std, mean), _fma64(radius * _libm_sin(theta), std, mean)], axis=1
    )


def _libm(fn):
    ufunc = np.frompyfunc(fn, 1, 1)
    return lambda x: ufunc(x).astype(np.float64)


_libm_log, _libm_cos, _libm_sin = _libm(math.log), _libm(math.cos), _libm(math.sin)


def _normal_fill(gen, n, dtype, mean, std):
    """normal_fill / normal_fill_AVX2: n uniforms, Box-Muller over whole chunks
    of 16, and when n % 16 != 0 the last 16 outputs are redone from 16 fresh
    uniforms (overwriting the end of the last whole chunk)."""
    box_muller = _box_muller16_avx2 if dtype == np.float32 else _box_muller16_f64
    mean, std = dtype.type(mean), dtype.type(std)
    whole = n - n % 16
    out = _uniform01(gen, n, dtype)
    out[:whole] = box_muller(out[:whole].reshape(-1, 16), mean, std).reshape(-1)
    if whole != n:
        out[n - 16:] = box_muller(_uniform01(gen, 16, dtype).reshape(1, 16), mean, std).reshape(-1)
    return out


def _normal_scalar(gen, n, mean, std):
    """at::normal_distribution<double>, one sample at a time: Box-Muller makes a
    pair, returns r cos and caches r sin in the generator for the next sample,
    across calls, until used or the generator is reseeded."""
    samples = np.empty(n)
    for i in range(n):
        if gen._next_double_normal is not None:
            samples[i], gen._next_double_normal = gen._next_double_normal, None
            continue
        u1, u2 = _uniform01(gen, 2, np.float64)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        gen._next_double_normal = r * math.sin(theta)
        samples[i] = r * math.cos(theta)
    return _fma64(samples, std, mean)


def normal(shape, dtype, mean=0.0, std=1.0, generator=None):
    """``torch.randn`` / ``Tensor.normal_(mean, std)`` on a new (contiguous) tensor."""
    dtype = _float_dtype(dtype)
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    gen, n = _gen(generator), _numel(shape)
    # normal_kernel: the vectorised fill needs 16 elements, smaller tensors
    # (and non-contiguous ones, which never occur here) take the scalar path.
    if n >= 16:
        out = _normal_fill(gen, n, dtype, mean, std)
    else:
        out = _normal_scalar(gen, n, float(mean), float(std))
    return out.astype(dtype, copy=False).reshape(shape)


def randint(low, high, shape, dtype, generator=None):
    """``torch.randint(low, high, shape)`` / ``Tensor.random_(low, high)``:
    ``random() % (high - low) + low``, or ``random64()`` for ranges of 2**28
    and more, whatever the dtype.  (The header also has a 2**32 / int64-only
    threshold, but that branch is for Meta's internal builds, not the wheels.)"""
    dtype = np.dtype(dtype)
    low, high = int(low), int(high)
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    gen, n = _gen(generator), _numel(shape)
    span = high - low
    draws = gen._random64(n) if span >= 1 << 28 else gen._random(n)
    values = (draws % np.uint64(span) + np.uint64(low & _UINT64_MASK)).view(np.int64)
    return values.astype(dtype).reshape(shape)


def random(shape, dtype, generator=None):
    """``Tensor.random_()`` without bounds: integers uniform over [0, max] for
    integer dtypes, [0, 2**mantissa] for floats (e.g. DataLoader's sampler seed
    is ``torch.empty((), dtype=torch.int64).random_()``)."""
    dtype = np.dtype(dtype)
    gen, n = _gen(generator), _numel(shape)
    if dtype == np.bool_:
        return (gen._random(n) & 1).astype(np.bool_).reshape(shape)
    if dtype == np.float32:
        modulus = (1 << 24) + 1
    elif dtype == np.float64:
        modulus = (1 << 53) + 1
    else:
        modulus = int(np.iinfo(dtype).max) + 1
    draws = gen._random64(n) if dtype in (np.int64, np.float64) else gen._random(n)
    return (draws % np.uint64(modulus)).astype(dtype).reshape(shape)


def randperm(n, dtype=np.int64, generator=None):
    """``torch.randperm(n)``: the CPU kernel's sequential swaps."""
    gen, n = _gen(generator), int(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    if n < 0xFFFFFFFF // 20:
        # Fisher-Yates forwards: swap i with i + random() % (n - i).
        perm = list(range(n))
        offsets = gen._random(max(n - 1, 0)) % np.arange(n, 1, -1, dtype=np.uint64)
        for i, j in enumerate((offsets + np.arange(n - 1, dtype=np.uint64)).tolist()):
            perm[i], perm[j] = perm[j], perm[i]
    else:
        # Huge n: "inside-out" Fisher-Yates with random64(), to avoid the
        # modulo bias of 32-bit draws.
        perm = [0] * n
        for i, j in enumerate((gen._random64(n) % np.arange(1, n + 1, dtype=np.uint64)).tolist()):
            perm[i] = perm[j]
            perm[j] = i
    return np.array(perm, dtype=np.int64).astype(dtype)


def _cpu_vendor():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# bernoulli_scalar_kernel: torch's x86 builds link MKL and, on Intel CPUs only,
# take one random() as the seed of an MKL MCG31m1 stream; elsewhere they use
# the generic kernel.
_BERNOULLI_USES_MKL = platform.machine().lower() in ("x86_64", "amd64") and "GenuineIntel" in _cpu_vendor()

_MCG31_A = 1132489760
_MCG31_M = (1 << 31) - 1


def _mcg31m1(seed, n):
    """The first n states of MKL's VSL_BRNG_MCG31 stream: x0 = seed mod m
    (0 -> 1), x_{k+1} = a x_k mod m.  Builds a^k mod m by doubling."""
    powers = np.ones(1, np.uint64)
    step = np.uint64(_MCG31_A)
    while powers.size < n:
        powers = np.concatenate([powers, powers * step % np.uint64(_MCG31_M)])
        step = step * step % np.uint64(_MCG31_M)
    x0 = np.uint64(seed % _MCG31_M or 1)
    return powers[:n] * x0 % np.uint64(_MCG31_M)


def bernoulli(p, shape, dtype, generator=None):
    """``Tensor.bernoulli_(p)`` for a scalar p (what dropout samples its mask with)."""
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    gen, n = _gen(generator), _numel(shape)
    if _BERNOULLI_USES_MKL:
        # viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF): float u = x / m, u < (float)p
        # (checked against libmkl_rt 2024.2, the MKL version torch 2.13 bundles).
        x = _mcg31m1(int(gen._random(1)[0]), n)
        hits = (x.astype(np.float64) * (1.0 / _MCG31_M)).astype(np.float32) < np.float32(p)
    else:
        # bernoulli_distribution<double>: uniform double < p.
        hits = _uniform01(gen, n, np.float64) < p
    return hits.astype(dtype).reshape(shape)


def exponential(shape, dtype, lambd=1.0, generator=None):
    """``Tensor.exponential_(lambd)``: torch's generic CPU kernel, -1/lambd * log1p(-u) per element
    with u a double uniform (53 bits of random64()), cast to the dtype. The logarithm is libm's
    (math.log1p), as torch's: numpy's vectorised log1p differs in the last bit for a few inputs.
    Checked against torch 2.13 on AMD CPUs; torch's MKL builds may take another path on Intel
    CPUs, as bernoulli does (not verified)."""
    dtype = _float_dtype(dtype)
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    uniforms = _uniform01(_gen(generator), _numel(shape), np.float64).tolist()
    scale = -1.0 / lambd
    values = np.array([scale * math.log1p(-u) for u in uniforms], np.float64)
    return values.astype(dtype).reshape(shape)


def multinomial(probabilities, num_samples, replacement=False, generator=None):
    """``torch.multinomial`` on a 1-D or 2-D array of non-negative weights (rows need not sum
    to one), with torch's CPU algorithms, so the same seed draws the same indices:
    - without replacement, or one sample: the Gumbel-max trick, argmax (or top-k) of
      p / q with q ~ Exp(1) drawn for every element in p's dtype;
    - with replacement: per row, the float cumulative sum normalised by its total, then one
      double uniform per sample located by binary search (first bucket >= u)."""
    p = np.asarray(probabilities)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {p.ndim}")
    if p.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {p.dtype}")
    categories = p.shape[-1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if categories > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = p.reshape(-1, categories)
    if not (np.all(rows >= 0) and np.all(np.isfinite(rows))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(axis=1) == 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    gen = _gen(generator)
    if not replacement or num_samples == 1:
        with np.errstate(divide="ignore"):
            keys = p / exponential(p.shape, p.dtype, generator=gen)
        keys = keys.reshape(-1, categories)
        if num_samples == 1:
            out = np.argmax(keys, axis=1)[:, None]
        else:
            out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    else:
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows):
            cumulative = np.cumsum(row, dtype=row.dtype)
            cumulative = (cumulative / cumulative[-1]).astype(np.float64)
            cumulative[-1] = 1.0
            out[i] = np.searchsorted(cumulative, _uniform01(gen, num_samples, np.float64), side="left")
    out = out.astype(np.int64)
    return out.reshape(num_samples) if p.ndim == 1 else out
