"""gradspec.utils.data and gradspec.vision datasets/transforms: batching, shuffling like torch, the digits,
IDX files."""

import gzip
import struct
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import gradspec as rt
from gradspec.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                                SequentialSampler, Subset, TensorDataset, default_collate, random_split)
from gradspec.vision import datasets, transforms


def _torch():
    return pytest.importorskip("torch")


def _xy(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return x, y


# ---- DataLoader ---------------------------------------------------------------------------------

def test_sequential_batches_and_len():
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(rt.tensor(x), rt.tensor(y)), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert isinstance(batches[0], list) and batches[0][0].shape == rt.Size([4, 2]) and batches[0][1].dtype == rt.int64
    dropped = DataLoader(TensorDataset(rt.tensor(x), rt.tensor(y)), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[1].tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_unpacking_as_in_the_quickstart():
    x, y = _xy(6)
    for X, Y in DataLoader(TensorDataset(rt.tensor(x), rt.tensor(y)), batch_size=4):
        assert X.shape == rt.Size([4, 2]) and Y.shape == rt.Size([4])
        break


@pytest.mark.parametrize("use_generator", [False, True])
@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (3, True), (16, False)])
def test_shuffle_order_and_random_stream_match_torch(use_generator, batch_size, drop_last):
    torch = _torch()
    x, y = _xy(13)
    rt.manual_seed(11)
    torch.manual_seed(11)
    gen_a = rt.Generator().manual_seed(3) if use_generator else None
    gen_b = torch.Generator().manual_seed(3) if use_generator else None
    ours = DataLoader(TensorDataset(rt.tensor(x), rt.tensor(y)), batch_size=batch_size, shuffle=True,
                      drop_last=drop_last, generator=gen_a)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=batch_size, shuffle=True, drop_last=drop_last, generator=gen_b)
    for _ in range(3):
        assert [b[1].tolist() for b in ours] == [b[1].tolist() for b in theirs]
    # the default generator advanced exactly as torch's
    np.testing.assert_array_equal(rt.rand(5).numpy(), torch.rand(5).numpy())


def test_sequential_iteration_draws_the_base_seed_like_torch():
    torch = _torch()
    x, y = _xy(5)
    rt.manual_seed(0)
    torch.manual_seed(0)
    list(DataLoader(TensorDataset(rt.tensor(x)), batch_size=2))
    list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x)), batch_size=2))
    np.testing.assert_array_equal(rt.rand(3).numpy(), torch.rand(3).numpy())


def test_per_sample_dataset_and_collate_match_torch():
    torch = _torch()

    class Pairs:
        def __init__(self, lib):
            self.lib = lib

        def __len__(self):
            return 7

        def __getitem__(self, i):
            return {"x": np.full((2,), i, np.float32), "n": i, "f": i / 2, "s": f"s{i}",
                    "t": (self.lib.tensor([i, i]), [i * 1.5])}

    ours = list(DataLoader(Pairs(rt), batch_size=3, shuffle=False))
    theirs = list(torch.utils.data.DataLoader(Pairs(torch), batch_size=3, shuffle=False))
    for a, b in zip(ours, theirs):
        assert a["x"].tolist() == b["x"].tolist() and a["x"].dtype.name == str(b["x"].dtype).split(".")[1]
        assert a["n"].tolist() == b["n"].tolist() and a["n"].dtype == rt.int64 and b["n"].dtype == torch.int64
        assert a["f"].tolist() == b["f"].tolist() and a["f"].dtype == rt.float64
        assert a["s"] == b["s"]
        assert isinstance(a["t"], list) and a["t"][0].tolist() == b["t"][0].tolist()
        assert a["t"][1][0].tolist() == b["t"][1][0].tolist()


def test_default_collate_rules():
    Point = namedtuple("Point", "x y")
    batch = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(batch, Point) and batch.x.tolist() == [1, 3] and batch.y.dtype == rt.float64
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([rt.ones(2), rt.ones(3)])
    assert default_collate([np.float32(1), np.float32(2)]).dtype == rt.float32


def test_batch_size_none_and_custom_collate_and_samplers():
    x, y = _xy(4)
    ds = TensorDataset(rt.tensor(x), rt.tensor(y))
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 4 and items[2][1].tolist() == 2
    sums = list(DataLoader(ds, batch_size=2, collate_fn=lambda batch: sum(int(b[1]) for b in batch)))
    assert sums == [1, 5]
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 3, False))
    assert [b[1].tolist() for b in loader] == [[0, 1, 2], [3]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=BatchSampler(SequentialSampler(ds), 3, False))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(ds, num_samples=0)


def test_random_sampler_with_replacement_matches_torch():
    torch = _torch()
    ours = list(RandomSampler(range(10), replacement=True, num_samples=40, generator=rt.Generator().manual_seed(1)))
    theirs = list(torch.utils.data.RandomSampler(range(10), replacement=True, num_samples=40,
                                                 generator=torch.Generator().manual_seed(1)))
    assert ours == theirs


def test_iterable_dataset():
    class Count(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Count(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Count(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Count(), shuffle=True)


# ---- datasets -------------------------------------------------------------------------------------

def test_tensor_dataset_subset_concat():
    x, y = _xy(6)
    ds = TensorDataset(rt.tensor(x), rt.tensor(y))
    assert len(ds) == 6 and ds[2][1].tolist() == 2
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(rt.ones(3), rt.ones(4))
    sub = Subset(ds, [5, 1])
    assert len(sub) == 2 and sub[0][1].tolist() == 5
    assert [b[1].tolist() for b in DataLoader(sub, batch_size=2)] == [[5, 1]]
    both = ConcatDataset([sub, ds])
    assert len(both) == 8 and both[2][1].tolist() == 0 and both[-1][1].tolist() == 5
    assert isinstance(ds + ds, ConcatDataset)
    with pytest.raises(NotImplementedError):
        Dataset()[0]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.33, 0.33, 0.34]])
def test_random_split_matches_torch(lengths):
    torch = _torch()
    ours = random_split(range(10), lengths, generator=rt.Generator().manual_seed(42))
    theirs = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(42))
    assert [s.indices for s in ours] == [s.indices for s in theirs]
    rt.manual_seed(1)
    torch.manual_seed(1)
    assert [s.indices for s in random_split(range(10), lengths)] == \
           [s.indices for s in torch.utils.data.random_split(range(10), lengths)]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])


def test_digits_embedded():
    path = datasets.DIGITS_FILE
    assert path.stat().st_size <= 200 * 1024
    assert "CC BY 4.0" in (path.parent / "README.md").read_text() and "Alpaydin" in (path.parent / "README.md").read_text()
    images, targets = datasets.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert np.bincount(targets).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    img, label = train[0]
    assert img.shape == (8, 8) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    assert isinstance(label, int) and train.classes[label].startswith(str(label))
    # a deterministic split: disjoint, covering, and the same every time
    train_images = {img.tobytes() + bytes([t]) for img, t in zip(train.data, train.targets.tolist())}
    assert len(train.data) + len(test.data) == 1797
    assert np.array_equal(datasets.Digits(train=False).data, test.data)
    assert sorted(np.bincount(test.targets.numpy()).tolist())[0] >= 25  # every class in the test split
    assert len(train_images) > 1400


def test_digits_split_is_torch_randperm():
    torch = _torch()
    perm = torch.randperm(1797, generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal(datasets._digits_split(), perm)


def test_dataset_batches_equal_per_sample_path():
    t = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.3,), (0.4,))])
    ds = datasets.Digits(train=False, transform=t)
    fast_x, fast_y = default_collate(ds.__getitems__([5, 0, 17]))
    slow_x, slow_y = default_collate([ds[5], ds[0], ds[17]])
    np.testing.assert_array_equal(fast_x.numpy(), slow_x.numpy())
    assert fast_y.tolist() == slow_y.tolist() and fast_x.shape == rt.Size([3, 1, 8, 8])
    plain = datasets.Digits(train=False, transform=transforms.Lambda(lambda a: rt.tensor(a * 2)))
    x, y = next(iter(DataLoader(plain, batch_size=2)))
    np.testing.assert_array_equal(x.numpy(), np.stack([plain.data[0], plain.data[1]]) / 8)


# ---- transforms -----------------------------------------------------------------------------------

def test_to_tensor_and_normalize():
    image = np.array([[0, 255], [51, 102]], np.uint8)
    t = transforms.ToTensor()(image)
    assert t.shape == rt.Size([1, 2, 2]) and t.dtype == rt.float32
    np.testing.assert_array_equal(t.numpy()[0], image.astype(np.float32) / np.float32(255))
    rgb = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    assert transforms.ToTensor()(rgb).shape == rt.Size([3, 2, 2])
    floats = np.full((2, 2), 3.0, np.float32)
    assert transforms.ToTensor()(floats).numpy().max() == 3.0  # non-uint8 images keep their values
    norm = transforms.Normalize((0.5, 0.25, 0.0), (0.5, 0.5, 1.0))
    out = norm(transforms.ToTensor()(rgb))
    np.testing.assert_allclose(out.numpy()[1], (rgb[..., 1] / 255 - 0.25) / 0.5, rtol=1e-6)
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        transforms.ToTensor()([1, 2])
    assert repr(transforms.Compose([transforms.ToTensor(), norm])) == \
        "Compose(\n    ToTensor()\n    Normalize(mean=(0.5, 0.25, 0.0), std=(0.5, 0.5, 1.0))\n)"


def test_to_tensor_matches_torchvision_formula():
    torch = _torch()
    image = np.random.default_rng(0).integers(0, 256, (5, 4), dtype=np.uint8)
    expected = torch.from_numpy(image[None].copy()).to(dtype=torch.float32).div(255)
    np.testing.assert_array_equal(transforms.ToTensor()(image).numpy(), expected.numpy())


# ---- IDX files, MNIST / FashionMNIST -------------------------------------------------------------

def _write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def _fake_mnist(folder: Path, compress: bool, n_train=12, n_test=5):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if compress else ""
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("layout", ["torchvision", "flat"])
def test_fashion_mnist_from_idx_files(tmp_path, compress, layout):
    folder = tmp_path / "FashionMNIST" / "raw" if layout == "torchvision" else tmp_path
    arrays = _fake_mnist(folder, compress)
    train = datasets.FashionMNIST(tmp_path, train=True, transform=transforms.ToTensor())
    test = datasets.FashionMNIST(str(tmp_path), train=False)
    assert len(train) == 12 and len(test) == 5
    x, label = train[3]
    assert x.shape == rt.Size([1, 28, 28]) and label == int(arrays["train"][1][3])
    np.testing.assert_array_equal(x.numpy()[0], arrays["train"][0][3] / np.float32(255))
    assert train.classes[9] == "Ankle boot"
    X, y = next(iter(DataLoader(train, batch_size=4)))
    assert X.shape == rt.Size([4, 1, 28, 28]) and y.dtype == rt.int64
    assert np.array_equal(test.data, arrays["t10k"][0])


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        datasets.FashionMNIST(tmp_path / "nowhere", download=True)
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and "FashionMNIST/raw" in message and "downloads nothing" in message
    with pytest.raises(FileNotFoundError, match="MNIST"):
        datasets.MNIST(tmp_path)


def test_read_idx_rejects_bad_files(tmp_path):
    good = tmp_path / "good"
    _write_idx(good, np.arange(6, dtype=np.int32).reshape(2, 3), compress=False)
    assert datasets.read_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    floats = tmp_path / "floats.gz"
    _write_idx(floats, np.array([1.5, -2.0], np.float32), compress=True)
    assert datasets.read_idx(floats).tolist() == [1.5, -2.0]
    raw = good.read_bytes()
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match="holds only 21: truncated"):
        datasets.read_idx(tmp_path / "short")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "text")
    (tmp_path / "badgz").write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(ValueError, match="gzip"):
        datasets.read_idx(tmp_path / "badgz")


@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_honours_every_type_code_of_the_format(tmp_path, code, dtype):
    """IDX type codes as the format defines them: 08 unsigned byte, 09 signed byte, 0B short, 0C int,
    0D float, 0E double, all big-endian."""
    values = np.array([[0, 1, 2], [3, 100, 127]], dtype)
    if np.dtype(dtype).kind != "u":
        values[0, 1] = -1
    if np.dtype(dtype).kind == "f":
        values[1, 2] = 0.375
    payload = bytes([0, 0, code, 2]) + struct.pack(">II", 2, 3) + values.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    (tmp_path / "a").write_bytes(payload)
    back = datasets.read_idx(tmp_path / "a")
    assert back.dtype == dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, values)
