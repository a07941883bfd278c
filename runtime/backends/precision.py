"""TF32 as an opt-in, under torch's names: `torch.backends.cuda.matmul.allow_tf32` (off by default),
`torch.set_float32_matmul_precision("highest" | "high" | "medium")` (the same switch: "highest"
is TF32 off) and `torch.backends.cudnn.allow_tf32` (convolutions; on by default, as in torch).

They change nothing on the CPU. On cuda a float32 product asks `allowed(kind)` and the cuda
backend sets cuBLAS's compute type to match (cupy's COMPUTE_TYPE_TF32 or the default one);
gradspec's convolutions are matrix products too, and follow the cudnn flag as torch's do.
"""

from __future__ import annotations

import sys
import types

PRECISIONS = ("highest", "high", "medium")
_matmul = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    _matmul[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul[0]


class _Matmul:
    """torch.backends.cuda.matmul: allow_tf32 is float32_matmul_precision != "highest"."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self) -> bool:
        return _matmul[0] != "highest"

    @allow_tf32.setter
    def allow_tf32(self, on: bool) -> None:
        _matmul[0] = "high" if on else "highest"


def allowed(kind: str) -> bool:
    """Whether a float32 product of `kind` ("matmul" or "conv") may use TF32."""
    if kind == "conv":
        cudnn = sys.modules.get(__package__ + ".cudnn")  # installed by gradspec.accelerator
        return bool(getattr(cudnn, "allow_tf32", True))
    return _matmul[0] != "highest"


cuda = types.ModuleType(__package__ + ".cuda", "torch.backends.cuda: the TF32 switch of float32 matmuls.")
cuda.matmul = _Matmul()
sys.modules[cuda.__name__] = cuda
