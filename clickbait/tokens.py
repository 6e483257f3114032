"""The token rules, and a tokenizer that applies them in plain Python, without TensorFlow.

`RULES` is what `clickbait.text.standardize` runs inside the saved Keras model (RE2 string ops).
Batch scoring needs the same tokens without importing TensorFlow (its start-up) and faster
than one regex pass per rule per headline, so `standardize` here applies the rules to a whole
batch at once: the headlines are joined with NUL (which TensorFlow's lowercasing truncates at, so
no headline keeps one) and each rule becomes a str method or a regex that starts with a literal
(Python's `re` then skips ahead to it); a rule's `^`/`$` become the NUL boundaries. Pure-ASCII
headlines go in a batch of their own (a 1-byte-wide string scans faster), and `ids` looks all the
batch's tokens up in one pass, numpy placing them: no Python work per headline or per token
beyond the lookup. `_standardize_reference` and `_ids_reference` keep the first versions, which
tests/test_speed_equivalence.py holds these to.

Exactness is tested, not assumed: tests/test_tokens.py compares `standardize` and `ids` with
TensorFlow on every corpus headline, on random strings of the characters the rules care about
and, for lowercasing, on every Unicode code point. This implementation is written for exactly
`RULES`; `FINGERPRINT` records them, and `matches_rules()` tells a caller (the scorer) when the
rules have changed since, so that it falls back to TensorFlow rather than tokenize differently.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from itertools import repeat

import numpy as np

# (pattern, replacement) pairs applied to the whole headline, in order (RE2 syntax: no lookaround,
# so token edges are matched as "( |^)" / "( |$)"; a rule that consumes the space after a token
# never needs the space before the next one). One pass over the line per rule is faster than
# splitting into tokens and rewriting each (benchmarks/README.md).
RULES: tuple[tuple[str, str], ...] = (
    ("[\u2018\u2019\u201a\u201b\u2032`\u00b4]", "'"),
    ("[\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb]", '"'),
    ("[\u2013\u2014\u2015\u2212]", " - "),
    ("\u2026", " ... "),
    # NBSP, NEL and other Unicode space separators are plain spaces in a headline.
    (r"[\s\x{00a0}\x{0085}\x{2000}-\x{200b}\x{202f}\x{205f}\x{3000}]+", " "),
    (r"^ +| +$", ""),
    # Trailing sentence punctuation: stripped from one class of the corpus only (see text.py).
    (r"[ .?!]+$", ""),
    # Always tokens of their own.
    (r"([?!;\"()\[\]{}<>*~|%$#])", " \\1 "),
    (r"  +", " "),
    # Quote-apostrophes at a token's edge: 'destroyed' -> ' destroyed ' (a lone 's stays).
    (r"( |^)'([^' ][^ ]+)", "\\1' \\2"),
    (r"([^ '])'( |$)", "\\1 '\\2"),
    # Trailing ellipsis, comma or colon ("1,000" and "3:30" stay whole); a trailing period only
    # when the token has no other period ("u.s." stays, as GloVe has it).
    (r"([^ .])(\.\.\.+)( |$)", "\\1 \\2\\3"),
    (r"([^ ])([,:])( |$)", "\\1 \\2\\3"),
    # Twice: a match consumes the space that the next token's match would start from.
    (r"( |^)([^ .]+)\.( |$)", "\\1\\2 .\\3"),
    (r"( |^)([^ .]+)\.( |$)", "\\1\\2 .\\3"),
    # Clitics, as in GloVe's Penn Treebank tokens.
    (r"([^ ])n't( |$)", "\\1 n't\\2"),
    (r"([^ ])'(s|re|ll|ve|m|d)( |$)", "\\1 '\\2\\3"),
)


def _fingerprint(rules) -> str:
    return hashlib.sha256(repr(tuple(rules)).encode()).hexdigest()[:16]


# The RULES this module's `standardize` implements (update both together; the tests say when).
FINGERPRINT = "7d3ed2760ffbd6fd"


def matches_rules(rules=RULES) -> bool:
    """True when `standardize` implements `rules` (the ones the model's own standardize runs)."""
    return _fingerprint(rules) == FINGERPRINT


SEP = "\x00"  # joins a batch; TensorFlow's lowercasing ends a headline at its first NUL
_END = r"(?=[ \x00]|\Z)"  # RE2 "( |$)" at a token's end, within the joined batch
# Characters TensorFlow's (ICU's) lowercasing leaves alone but Python lowercases (newer Unicode);
# tests/test_tokens.py checks every code point.
_TF_KEEPS_CASE = "\u2c2f\ua7c0\ua7d0\ua7d6\ua7d8" + "".join(map(chr, range(0x10570, 0x10596)))
_KEEP_RE = re.compile("[" + re.escape(_TF_KEEPS_CASE) + "]")
_KEEP_ANY = re.compile("[\U00010570-\U00010595]")  # a fast search for the non-BMP ones
# Rules 1-5: character rewrites (one translate); RE2's \s is [\t\n\f\r ] (not \v).
_CHARS = {**{c: "'" for c in "\u2018\u2019\u201a\u201b\u2032`\u00b4"},
          **{c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"},
          **{c: " - " for c in "\u2013\u2014\u2015\u2212"}, "\u2026": " ... ",
          **{c: " " for c in "\t\n\f\r\u00a0\u0085\u202f\u205f\u3000"},
          **{chr(c): " " for c in range(0x2000, 0x200c)}}
_CHARS_RE = re.compile("[" + "".join(map(re.escape, _CHARS)) + "]")  # faster than str.translate
_SPACES = re.compile("  +")
_OWN_TOKEN = re.compile(r"([?!;\"()\[\]{}<>*~|%$#])")
_QUOTE_OPEN = re.compile(r"'(?<![^ \x00]')([^\x00' ][^\x00 ]+)")  # rule: ( |^)'([^' ][^ ]+)
_QUOTE_CLOSE = re.compile(r"'(?<=[^\x00 ']')" + _END)  # rule: ([^ '])'( |$)
_ELLIPSIS = re.compile(r"\.(?<=[^\x00 .]\.)\.\.+" + _END)  # rule: ([^ .])(\.\.\.+)( |$)
_COMMA = re.compile(r"[,:](?<=[^\x00 ][,:])" + _END)  # rule: ([^ ])([,:])( |$)
_PERIOD = re.compile(r"\." + _END)  # rule: ( |^)([^ .]+)\.( |$), checked in _period
_NT = re.compile(r"n't(?<=[^\x00 ]n't)" + _END)  # rule: ([^ ])n't( |$)
_CLITIC = re.compile(r"'(?<=[^\x00 ]')(?:s|re|ll|ve|m|d)" + _END)  # rule: ([^ ])'(s|...)( |$)


def _lower(s: str) -> str:
    """tf.strings.lower(s, encoding="utf-8"), NULs aside (the caller cuts at them)."""
    if s.isascii() or not (any(c in s for c in _TF_KEEPS_CASE[:5])  # the BMP ones: fast finds
                           or (sys.getsizeof(s) >= 4 * len(s) and _KEEP_ANY.search(s))):  # UCS-4 only
        return s.lower()
    parts = _KEEP_RE.split(s)
    kept = _KEEP_RE.findall(s)
    return "".join(p.lower() + (kept[i] if i < len(kept) else "") for i, p in enumerate(parts))


def _period(m: re.Match) -> str:
    """A token's final period splits off when the token before it has no other period (both
    passes of the rule: the second catches the tokens the first skipped)."""
    s, i = m.string, m.start()
    start = max(s.rfind(" ", 0, i), s.rfind(SEP, 0, i)) + 1
    return " ." if i > start and "." not in s[start:i] else "."


def _joined_lower(texts: list[str]) -> str:
    """The headlines joined with SEP, lowercased, typographic characters mapped to ASCII and
    control whitespace to spaces: the first steps of both standardisations."""
    s = SEP.join(texts)
    if s.count(SEP) != len(texts) - 1:  # a headline holds a NUL: TensorFlow ends it there
        s = SEP.join(t.split(SEP, 1)[0] for t in texts)
    s = _lower(s)
    if not s.isascii():
        s = _CHARS_RE.sub(lambda m: _CHARS[m.group()], s)
    else:
        for c, r in (("`", "'"), ("\t", " "), ("\n", " "), ("\f", " "), ("\r", " ")):
            if c in s:
                s = s.replace(c, r)
    return s


def _standardize_reference(texts: Sequence[str]) -> list[str]:
    """`standardize` as first written (one regex per rule over the whole batch): the reference
    that tests/test_speed_equivalence.py and benchmarks/bench_stages.py hold the fast one to."""
    texts = list(texts)
    if not texts:
        return []
    s = _joined_lower(texts)
    s = _SPACES.sub(" ", s)
    s = s.replace(SEP + " ", SEP).replace(" " + SEP, SEP).strip(" ")
    s = SEP.join([t.rstrip(" .?!") for t in s.split(SEP)])
    s = _SPACES.sub(" ", _OWN_TOKEN.sub(r" \1 ", s))
    if "'" in s:
        s = _QUOTE_CLOSE.sub(" '", _QUOTE_OPEN.sub(r"' \1", s))
    if "..." in s:
        s = _ELLIPSIS.sub(r" \g<0>", s)
    if "," in s or ":" in s:
        s = _COMMA.sub(r" \g<0>", s)
    if "." in s:
        s = _PERIOD.sub(_period, s)
    if "n't" in s:
        s = _NT.sub(" n't", s)
    if "'" in s:
        s = _CLITIC.sub(r" \g<0>", s)
    return s.split(SEP)


# Faster forms of some rules for `_rules`, each checked equal to the rule above: a pattern that
# starts with a literal (Python's `re` then skips ahead to it) and a literal replacement (a
# template such as r" \g<0>" costs a Python call per match on Python 3.11).
_QUOTE_OPEN_FAST = re.compile(r"'(?<![^ \x00]')(?=[^\x00' ][^\x00 ])")  # the token is not consumed,
# but no match can start inside one (its characters all follow a non-space)
_COMMA_ONLY = re.compile(r",(?<=[^\x00 ],)" + _END)
_COLON_ONLY = re.compile(r":(?<=[^\x00 ]:)" + _END)
_CLITIC_FAST = re.compile(r"'(?<=[^\x00 ]')(?=(?:s|re|ll|ve|m|d)" + _END + ")")  # no quote in those
_MARK = "\x01"  # marks a split-off comma or colon until both passes are done (see `_rules`)
_OWN = {c: f" {c} " for c in "?!;\"()[]{}<>*~|%$#"}
_OWN_CHAR = re.compile(r"[?!;\"()\[\]{}<>*~|%$#]")


def _rules(texts: list[str]) -> str:
    """The standardised headlines, joined with SEP: `_standardize_reference`'s steps, with the
    faster forms of the rules above."""
    s = _joined_lower(texts)
    if "  " in s:
        s = _SPACES.sub(" ", s)
    s = s.replace(SEP + " ", SEP).replace(" " + SEP, SEP).strip(" ")
    s = SEP.join([t.rstrip(" .?!") for t in s.split(SEP)])
    s = _OWN_CHAR.sub(lambda m: _OWN[m[0]], s)
    if "  " in s:
        s = _SPACES.sub(" ", s)
    if "'" in s:
        s = _QUOTE_CLOSE.sub(" '", _QUOTE_OPEN_FAST.sub("' ", s))
    if "..." in s:
        s = _ELLIPSIS.sub(r" \g<0>", s)
    if "," in s or ":" in s:
        if _MARK in s:
            s = _COMMA.sub(lambda m: " " + m[0], s)
        else:  # one pass per character, marked: a mark is no space, so neither pass sees the other's
            s = _COLON_ONLY.sub(_MARK + ":", _COMMA_ONLY.sub(_MARK + ",", s)).replace(_MARK, " ")
    if "." in s:
        s = _PERIOD.sub(_period, s)
    if "n't" in s:
        s = _NT.sub(" n't", s)
    if "'" in s:
        s = _CLITIC_FAST.sub(" '", s)
    return s


def _by_kind(texts: list[str]) -> list[tuple[list[int] | None, list[str]]]:
    """The batch as (positions, headlines) groups: pure ASCII and the rest (None: all of them).
    A joined string takes the widest character's size, and the rules scan ASCII (1 byte a
    character) several times faster than a batch that one euro sign makes 2 bytes wide."""
    flags = list(map(str.isascii, texts))
    if all(flags) or not any(flags):
        return [(None, texts)]
    groups: tuple[list[int], list[int]] = ([], [])
    for i, f in enumerate(flags):
        groups[f].append(i)
    return [(g, [texts[i] for i in g]) for g in groups if g]


def standardize(texts: Sequence[str]) -> list[str]:
    """`clickbait.text.standardize` on a batch of headlines, in Python: the same strings."""
    texts = list(texts)
    if not texts:
        return []
    out: list[str] = [""] * len(texts)
    for where, group in _by_kind(texts):
        lines = _rules(group).split(SEP)
        if where is None:
            return lines
        for i, line in zip(where, lines, strict=True):
            out[i] = line
    return out


def split(text: str) -> list[str]:
    """tf.strings.split: tokens separated by runs of [ \\t\\n\\v\\f\\r]."""
    if "\v" in text:  # the only one of them the rules leave in place
        text = text.replace("\v", " ")
    return [t for t in text.split(" ") if t]


# What str.split() splits on and tf.strings.split does not (the str.isspace() characters but
# " \t\n\v\f\r"; tests/test_speed_equivalence.py checks): with none of these in a batch, one
# str.split() of the whole joined batch gives its tokens.
PY_ONLY_SPACES = "\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PY_ONLY_SPACE = re.compile(f"[{PY_ONLY_SPACES}]")


def _fill(s: str, n: int, vocabulary: Mapping[str, int], length: int) -> np.ndarray | None:
    """`ids` of the n standardised headlines joined in `s`, or None where str.split() would
    split differently. All tokens are looked up at once; numpy counts each headline's tokens
    (where a non-space follows a space or SEP) and places them, no Python work per headline."""
    if s.isascii():
        codes = np.frombuffer(s.encode("ascii"), np.uint8)
        if ((codes - np.uint8(0x1c)) < 4).any():  # \x1c-\x1f: the ASCII ones of PY_ONLY_SPACES
            return None
    elif _PY_ONLY_SPACE.search(s):
        return None
    else:
        codes = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), np.uint32)
    toks = s.replace(SEP, " ").split()
    sep = codes == 0
    gap = (codes == 32) | ((codes >= 9) & (codes <= 13)) | sep
    start = ~gap
    start[1:] &= gap[:-1]
    # tokens before each SEP, then per headline
    ends = np.searchsorted(np.flatnonzero(start), np.flatnonzero(sep))
    lengths = np.diff(ends, prepend=0, append=len(toks))
    if len(lengths) != n or int(lengths.sum()) != len(toks):  # cannot happen; never guess
        return None
    values = np.fromiter(map(vocabulary.get, toks, repeat(1)), np.int64, count=len(toks))
    if len(toks) and lengths.max() > length:  # cut at `length` tokens
        rank = np.arange(len(toks)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        values = values[rank < length]
        lengths = np.minimum(lengths, length)
    out = np.zeros((n, length), dtype=np.int64)
    out[np.arange(length) < lengths[:, None]] = values
    return out


def ids(texts: Sequence[str], vocabulary: Mapping[str, int], length: int) -> np.ndarray:
    """Token ids (n x length, int64), as the model's TextVectorization gives them: 0 pads, 1 is
    out of vocabulary (`vocabulary` maps a token to its id), cut or padded at the end."""
    texts = list(texts)
    out = np.zeros((len(texts), length), dtype=np.int64)
    for where, group in _by_kind(texts) if texts else []:
        joined = _rules(group)
        got = _fill(joined, len(group), vocabulary, length)
        if got is None:  # a rare character: the token list of each headline, as the reference
            get = vocabulary.get
            got = np.zeros((len(group), length), dtype=np.int64)
            for i, line in enumerate(joined.split(SEP)):
                row = [get(w, 1) for w in split(line)[:length]]
                got[i, :len(row)] = row
        if where is None:
            return got
        out[where] = got
    return out


def _ids_reference(texts: Sequence[str], vocabulary: Mapping[str, int], length: int) -> np.ndarray:
    """`ids` as first written (a token list per headline), on `_standardize_reference`."""
    out = np.zeros((len(texts), length), dtype=np.int64)
    get = vocabulary.get
    rows = [[get(w, 1) for w in split(t)[:length]] for t in _standardize_reference(texts)]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(lengths.sum()))
    mask = np.arange(length) < lengths[:, None]
    out[mask] = flat
    return out
