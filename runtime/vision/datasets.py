"""Datasets for the main job: the UCI digits shipped in the repository, and MNIST/FashionMNIST read
from IDX files the user puts in a directory (nothing is downloaded).

Samples are (image, target) as in torchvision, the image a numpy array standing in for the PIL
image (uint8 H x W for MNIST; float32 in [0, 1] for the digits, whose pixels count 0..16), so
`transform=ToTensor()` gives the tensors the tutorials expect. A DataLoader batch is built in one
gather (and one batched transform, where every transform has a batched form) instead of one
indexing op per sample; the values are the same.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .. import random as _random
from ..tensor import make_tensor
from ..utils.data import Dataset
from ..utils.data.dataset import GatheredBatch

__all__ = ["Digits", "MNIST", "FashionMNIST", "read_idx", "load_digits", "DIGITS_TEST_SIZE"]

DIGITS_FILE = Path(__file__).with_name("data") / "digits.npz"
DIGITS_TEST_SIZE = 360
DIGITS_SPLIT_SEED = 0


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 UCI digits: images uint8 (1797, 8, 8) with values 0..16, targets int64 (1797,)."""
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        images, targets = archive["images"], archive["targets"].astype(np.int64)
    if images.shape != (1797, 8, 8) or targets.shape != (1797,):
        raise RuntimeError(f"{DIGITS_FILE} is damaged: unexpected shapes {images.shape}, {targets.shape}")
    return images, targets


def _digits_split() -> np.ndarray:
    """The fixed permutation behind the train/test split: randperm(1797) from a generator seeded 0
    (the same as torch.randperm(1797, generator=torch.Generator().manual_seed(0)))."""
    generator = _random.Generator().manual_seed(DIGITS_SPLIT_SEED)
    return _random.randperm(1797, generator=generator)


class _ImageDataset(Dataset):
    """Images and integer targets held as arrays, with torchvision-style transforms."""

    classes: list[str] = []

    def _setup(self, images: np.ndarray, targets: np.ndarray, transform, target_transform) -> None:
        self.data = images
        self.targets = make_tensor(targets.astype(np.int64))
        self.transform = transform
        self.target_transform = target_transform

    def _image(self, array: np.ndarray) -> np.ndarray:
        return array

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        img = self._image(self.data[index])
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices: list):
        """A whole batch at once when the transform has a batched form, else sample by sample."""
        batched = getattr(self.transform, "batch", None) if self.transform is not None else None
        if self.target_transform is not None or (self.transform is not None and not callable(batched)):
            return [self[i] for i in indices]
        index = np.asarray(indices, dtype=np.int64)
        images = self._image(self.data[index])
        images = make_tensor(images) if self.transform is None else batched(images)
        return GatheredBatch((images, make_tensor(self.targets._data[index])))

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        root = getattr(self, "root", None)
        if root is not None:
            lines.append(f"    Root location: {root}")
        lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        if self.transform is not None:
            lines.append("    StandardTransform")
            lines.append("Transform: " + repr(self.transform).replace("\n", "\n           "))
        return "\n".join(lines)


class Digits(_ImageDataset):
    """The UCI handwritten digits (E. Alpaydin, C. Kaynak, UCI ML Repository, CC BY 4.0), embedded.

    1,797 8x8 images: `train=True` gives 1,437 of them and `train=False` the other 360, split by a
    fixed permutation (see `_digits_split`), so every run and every machine uses the same split.
    Images are float32 (8, 8) arrays in [0, 1] (pixel count / 16). `root` and `download` are
    accepted for torchvision compatibility and ignored.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        self.root = None
        self.train = train
        images, targets = load_digits()
        perm = _digits_split()
        chosen = perm[DIGITS_TEST_SIZE:] if train else perm[:DIGITS_TEST_SIZE]
        chosen = np.sort(chosen)
        self._setup(images[chosen], targets[chosen], transform, target_transform)

    def _image(self, array: np.ndarray) -> np.ndarray:
        return array.astype(np.float32) / np.float32(16)


# ---- IDX files (MNIST, FashionMNIST) ------------------------------------------------------------
#
# The format (https://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"): two zero bytes, a type
# code, the number of dimensions, one big-endian u32 size per dimension, then the values, big-endian
# ("MSB first"), in C order. The type codes: 0x08 unsigned byte, 0x09 signed byte, 0x0B short
# (2 bytes), 0x0C int (4 bytes), 0x0D float (4 bytes), 0x0E double (8 bytes).

_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_TYPES.items()}
MAX_IDX_BYTES = 1 << 31  # the most data read from one file (FashionMNIST's training images: 47 MB)


def read_idx(path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """An IDX file's array, in native byte order with the dtype its type code names; the file raw
    or gzipped (told by its magic bytes, not its name).

    Reading is bounded: the header announces the data's size, which must be at most `max_bytes`,
    and no more than that (plus one byte, to notice trailing data) is ever read or decompressed,
    so a small gzip that expands to gigabytes is refused after reading what the header promised.
    Every damaged, truncated, oversized or foreign file is a ValueError that names the file."""
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not gzipped:
            return _read_idx(raw, path, max_bytes)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_idx(stream, path, max_bytes)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: damaged gzip data ({error})") from None


def _idx_code(array: np.ndarray) -> int:
    return _IDX_CODES[array.dtype]


def _read_idx(stream, path: Path, max_bytes: int) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] or magic[1] or magic[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (its magic number is {magic.hex() or 'missing'}; an IDX file "
                         "starts 00 00, a type code 08/09/0b/0c/0d/0e, and the number of dimensions)")
    dtype, ndim = _IDX_TYPES[magic[2]], magic[3]
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header (it announces {ndim} dimensions, then ends)")
    shape = struct.unpack(f">{ndim}I", sizes)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise ValueError(f"{path}: the IDX header announces {shape} values of {dtype.newbyteorder('=').name}, "
                         f"{nbytes} bytes, more than the {max_bytes} this reader accepts (a damaged file?)")
    data = stream.read(nbytes + 1)  # one byte more, to notice data after the announced values
    if len(data) != nbytes:
        found = "more" if len(data) > nbytes else f"only {len(data)}"
        raise ValueError(f"{path}: the IDX header announces {shape} ({nbytes} bytes of values), but the file holds "
                         f"{found}: truncated or damaged")
    return np.frombuffer(data, dtype, math.prod(shape)).astype(dtype.newbyteorder("=")).reshape(shape)


class MNIST(_ImageDataset):
    """MNIST from the four IDX files in `root/<Name>/raw/` (torchvision's layout), `root/<Name>/` or
    `root/` itself, gzipped (`.gz`) or not. Nothing is downloaded: with the files missing, the
    error says which files to put where.

    Images are (N, H, W) as the files hold them: uint8 (type 0x08, as the MNIST files), which
    ToTensor scales to [0, 1], or float32 (from float or double files, 0x0D/0x0E), which ToTensor
    passes through unscaled, as torchvision's does for float arrays. Signed integer images have no
    agreed scale and are refused, as are non-integer labels; labels of any integer type become
    int64. Each failure is a ValueError naming the file."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    source = "the MNIST database (https://yann.lecun.com/exdb/mnist/ or a mirror)"

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        self.root = os.fspath(root) if root is not None else None
        self.train = train
        prefix = "train" if train else "t10k"
        image_file = self._find(f"{prefix}-images-idx3-ubyte", download)
        label_file = self._find(f"{prefix}-labels-idx1-ubyte", download)
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim != 3:
            raise ValueError(f"{image_file}: images should be (N, height, width), but the file holds {images.shape}")
        if labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{label_file}: {len(images)} images in {image_file.name} need {len(images)} labels, "
                             f"but the file holds {labels.shape}")
        if images.dtype.kind == "f":
            images = images.astype(np.float32)
        elif images.dtype != np.uint8:
            raise ValueError(f"{image_file}: images of type {images.dtype} (IDX type 0x{_idx_code(images):02x}); "
                             "expected unsigned bytes (0x08) or floats (0x0d, 0x0e)")
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{label_file}: labels of type {labels.dtype}; labels are integers")
        self.files = (image_file, label_file)
        self._setup(images, labels.astype(np.int64), transform, target_transform)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root or ".", type(self).__name__, "raw")

    def _candidates(self, stem: str) -> list[Path]:
        root = Path(self.root or ".")
        folders = [Path(self.raw_folder), root / type(self).__name__, root]
        return [folder / (stem + suffix) for folder in folders for suffix in (".gz", "")]

    def _find(self, stem: str, download: bool) -> Path:
        for candidate in self._candidates(stem):
            if candidate.is_file():
                return candidate
        names = ", ".join(f"{p}-{k}-idx{n}-ubyte.gz" for p in ("train", "t10k")
                          for k, n in (("images", 3), ("labels", 1)))
        note = " (download=True cannot fetch them: gradspec downloads nothing)" if download else ""
        raise FileNotFoundError(f"{type(self).__name__}: {stem}[.gz] not found under {self.root!r}{note}. Put the "
                                f"four IDX files ({names}; gzipped or not) from {self.source} in "
                                f"{self.raw_folder}/ (torchvision's layout) or directly in {self.root}/.")


class FashionMNIST(MNIST):
    """Zalando's FashionMNIST (same IDX layout as MNIST), from files the user provides."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    source = "the FashionMNIST project (https://github.com/zalandoresearch/fashion-mnist)"
