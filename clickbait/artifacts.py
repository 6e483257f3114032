"""Bounds on what a saved model's files may say, checked at load before anything is allocated
from them. A model folder is untrusted input (SECURITY.md): its checksums prove only that the
files are the ones its writer listed, and whoever writes the folder writes the manifest. So
every number that sizes an allocation or enters the vote is bounded here (k, length, dims,
vocabulary), every coefficient and cut must be finite, and every array of `vote.npz` must have
the dtype and shape the vote expects, read from its header and checked against the bytes
actually stored before the array itself is read. Errors are ArtifactErrors naming the file and
the key."""

from __future__ import annotations

import math
import zipfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from .errors import ArtifactError
from .headline import HEADLINE_FEATURES
from .vote import FEATURES

# Upper bounds of the integer parameters (the constructor's constraints give the lower ones).
# k, length and dim size the arrays of every scoring call (n x k, n x length, n x dim).
MAX_K = 10_000
MAX_LENGTH = 1_024
MAX_LISTS = 65_536  # clusters per class in index.npz
MAX_DIM = 4_096
MAX_VOCABULARY = 10_000_000
INT_BOUNDS = {"k": (1, MAX_K), "length": (1, MAX_LENGTH), "dim": (1, MAX_DIM),
              "hidden": (1, 65_536), "filters": (1, 65_536), "epochs": (1, 1_000_000),
              "batch_size": (1, 10_000_000), "fine_tune_epochs": (0, 1_000_000),
              "patience": (0, 1_000_000), "pretrained_top_n": (0, MAX_VOCABULARY),
              "seed": (0, 2 ** 32 - 1)}
MAX_ID = 2 ** 62  # case ids


def _where(path: Path, key: str) -> str:
    return f"{path}: {key}"


def check_int(value, path: Path, key: str, low: int, high: int) -> int:
    """A whole number (not a bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise ArtifactError(f"{_where(path, key)} must be a whole number from {low:,} to {high:,}; "
                            f"got {value!r}")
    return int(value)


def check_real(value, path: Path, key: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number (not a bool) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or not low <= value <= high:
        shown = "" if (low, high) == (-math.inf, math.inf) else f" in [{low:g}, {high:g}]"
        raise ArtifactError(f"{_where(path, key)} must be a finite number{shown}; got {value!r}")
    return float(value)


def _coefficients(d, path: Path, key: str, features: tuple[str, ...], nonnegative: bool) -> None:
    if not isinstance(d, dict):
        raise ArtifactError(f"{_where(path, key)} must be an object; got {d!r}")
    if d.get("features") != list(features):
        raise ArtifactError(f"{_where(path, key + '.features')} must be {list(features)}; "
                            f"got {d.get('features')!r}")
    coef = d.get("coef")
    if not isinstance(coef, list) or len(coef) != len(features):
        raise ArtifactError(f"{_where(path, key + '.coef')} must be a list of {len(features)} "
                            f"numbers; got {coef!r}")
    for i, c in enumerate(coef):
        check_real(c, path, f"{key}.coef[{i}]", 0.0 if nonnegative else -math.inf)
    check_real(d.get("intercept"), path, f"{key}.intercept")


def check_config(config: dict, path: Path) -> None:
    """Bound every number of a model's config.json that sizes an allocation or enters the
    vote, before any of it is used (called by `ClickbaitDetector.load`)."""
    params = config.get("params")
    if not isinstance(params, dict):
        raise ArtifactError(f"{_where(path, 'params')} must be an object; got {params!r}")
    for key, (low, high) in INT_BOUNDS.items():
        if key in params:
            check_int(params[key], path, f"parameter {key!r}", low, high)
    vote = config.get("vote")
    if not isinstance(vote, dict):
        raise ArtifactError(f"{_where(path, 'vote')} must be an object; got {vote!r}")
    _coefficients(vote.get("combiner"), path, "vote.combiner", FEATURES, nonnegative=True)
    check = vote.get("headline_check")
    _coefficients(check, path, "vote.headline_check", HEADLINE_FEATURES, nonnegative=False)
    vocab = check_int(check.get("vocab_size"), path, "vote.headline_check.vocab_size", 2, MAX_VOCABULARY)
    check_int(check.get("n_train_words"), path, "vote.headline_check.n_train_words", 0, vocab - 2)
    check_real(vote.get("prior"), path, "vote.prior", 0.0, 1.0)
    # the similarity of the nearest case: a cosine, within float32 rounding of [-1, 1]
    check_real(vote.get("support_cut"), path, "vote.support_cut", -1.001, 1.001)
    for key in ("validation_from_id", "retained_from_id"):
        check_int(vote.get(key), path, f"vote.{key}", 0, MAX_ID)
    check_real(config.get("threshold"), path, "threshold", 0.0, 1.0)
    fast = vote.get("fast")
    if fast is not None:  # the fast retrieval's own vote (absent in models saved before it)
        if not isinstance(fast, dict):
            raise ArtifactError(f"{_where(path, 'vote.fast')} must be an object; got {fast!r}")
        _coefficients(fast.get("combiner"), path, "vote.fast.combiner", FEATURES, nonnegative=True)
        check_real(fast.get("threshold"), path, "vote.fast.threshold", 0.0, 1.0)


CASE_ARRAYS = ("embeddings", "labels", "case_id")  # cases.npz (checked in full by CaseBase.load)
# name -> (dtype kind, number of dimensions); the shapes are checked against the vocabulary
VOTE_ARRAYS = {"pairs": ("i", 1), "numeric": ("b", 1), "vectors": ("f", 2)}


def _header(z: zipfile.ZipFile, path: Path, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npy member declares, checked to fit the bytes stored for it
    (members must be stored uncompressed, as np.savez writes them, so nothing expands)."""
    try:
        info = z.getinfo(f"{name}.npy")
    except KeyError:
        raise ArtifactError(f"{_where(path, name)} is missing") from None
    if info.compress_type != zipfile.ZIP_STORED:
        raise ArtifactError(f"{_where(path, name)} is compressed; clickbait writes it stored "
                            "(np.savez), so its size on disk bounds what is read")
    with z.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
        except ValueError as e:
            raise ArtifactError(f"{_where(path, name)} is not a NumPy array ({e})") from None
        data = info.file_size - f.tell()
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ArtifactError(f"{_where(path, name)} holds {dtype} values; expected numbers")
    if math.prod(shape) * dtype.itemsize > data:
        raise ArtifactError(f"{_where(path, name)} declares shape {shape} ({dtype}), more than "
                            f"the {data:,} bytes stored for it")
    return shape, dtype


def check_npz(path: Path, names: tuple[str, ...]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The declared (shape, dtype) of each named array of an .npz archive, after checking that
    it is there, holds numbers (no objects) and fits the bytes stored for it: np.load allocates
    what a header declares before reading, so a forged header must not get that far."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArtifactError(f"{path} is not an .npz archive ({e})") from None
    with z:
        try:
            return {name: _header(z, path, name) for name in names}
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ArtifactError(f"{path} is not a readable .npz archive ({e})") from None


def load_vote_arrays(path: Path, vocab_size: int) -> dict[str, np.ndarray]:
    """`vote.npz`'s arrays (pairs, numeric, vectors) after checking each one's declared dtype
    and shape against the vote's needs and `vocab_size` (from config.json, already bounded),
    then its values: the word vectors finite, the pair keys sorted within the vocabulary."""
    headers = check_npz(path, tuple(VOTE_ARRAYS))
    for name, (kind, ndim) in VOTE_ARRAYS.items():
        shape, dtype = headers[name]
        if (dtype.kind in "iu") != (kind == "i") or (kind == "b") != (dtype.kind == "b") \
                or (kind == "f") != (dtype.kind == "f") or len(shape) != ndim:
            raise ArtifactError(f"{_where(path, name)} is a {len(shape)}-D {dtype} array; "
                                f"expected {ndim}-D of kind {kind!r}")
        if name != "pairs" and shape[0] != vocab_size:
            raise ArtifactError(f"{_where(path, name)} has {shape[0]:,} rows; the vocabulary "
                                f"(config.json) has {vocab_size:,}")
        if name == "vectors" and not 1 <= shape[1] <= MAX_DIM:
            raise ArtifactError(f"{_where(path, name)} has {shape[1]:,} dimensions; expected "
                                f"1 to {MAX_DIM:,}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in VOTE_ARRAYS}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ArtifactError(f"{path} cannot be read ({e})") from None
    vectors, pairs = arrays["vectors"], arrays["pairs"]
    if not np.isfinite(vectors).all():
        raise ArtifactError(f"{_where(path, 'vectors')} holds NaN or infinite values")
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= vocab_size ** 2 or (np.diff(pairs) <= 0).any()):
        raise ArtifactError(f"{_where(path, 'pairs')} must be distinct sorted word-pair keys "
                            f"from 0 to {vocab_size ** 2 - 1:,}")
    return arrays


def load_centroids(path: Path, dim: int) -> dict[int, np.ndarray]:
    """`index.npz`: each class's unit centroids for the fast retrieval (clickbait.index), checked
    (2-D float, `dim` columns, at most MAX_LISTS rows, finite) before use."""
    names = ("centroids0", "centroids1")
    headers = check_npz(path, names)
    for name in names:
        shape, dtype = headers[name]
        if dtype.kind != "f" or len(shape) != 2 or shape[1] != dim or shape[0] > MAX_LISTS:
            raise ArtifactError(f"{_where(path, name)} is a {shape} {dtype} array; expected up to "
                                f"{MAX_LISTS:,} rows of {dim} floats")
    try:
        with np.load(path, allow_pickle=False) as npz:
            out = {c: npz[f"centroids{c}"].astype("float32") for c in (0, 1)}
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ArtifactError(f"{path} cannot be read ({e})") from None
    if not all(np.isfinite(v).all() for v in out.values()):
        raise ArtifactError(f"{path} holds NaN or infinite values")
    return out
