import numpy as np
import pytest

from clickbait.text import PAD, UNK, build_vocabulary, encode, make_vectorizer, tokenize


@pytest.mark.parametrize(
    ("headline", "tokens"),
    [
        # GloVe 6B's Penn Treebank clitics, lowercased; "?" and "!" are tokens.
        ("Won't You Believe What It's Doing? You'll Cry!",
         ["wo", "n't", "you", "believe", "what", "it", "'s", "doing", "?", "you", "'ll", "cry"]),
        ("Don't Miss This", ["do", "n't", "miss", "this"]),
        # Typographic quotes become ASCII; quote-apostrophes split off; possessive 's kept apart.
        ("Runways 'destroyed' at Libya’s airport",
         ["runways", "'", "destroyed", "'", "at", "libya", "'s", "airport"]),
        ("“Quoted” words", ['"', "quoted", '"', "words"]),
        # Abbreviations, decimals, thousands and hyphenated words stay whole, as GloVe has them.
        ("U.S. grows 3.5% in 1,000 days, e-mail says: wait",
         ["u.s.", "grows", "3.5", "%", "in", "1,000", "days", ",", "e-mail", "says", ":", "wait"]),
        ("O'Brien loves rock'n'roll", ["o'brien", "loves", "rock'n'roll"]),
        # A clitic before punctuation is still split; back-to-back initials each keep a period.
        ("Alzheimer's, McDonald's: We've, Um", ["alzheimer", "'s", ",", "mcdonald", "'s", ":", "we",
                                                  "'ve", ",", "um"]),
        ("J. J. Abrams. Stop. Go", ["j", ".", "j", ".", "abrams", ".", "stop", ".", "go"]),
        # NBSP and NEL are spaces, never parts of a token.
        ("café\u00a0au\u0085lait — now", ["café", "au", "lait", "-", "now"]),
        # Trailing sentence punctuation is stripped (the corpus stripped it from one class only).
        ("Is this a question?", ["is", "this", "a", "question"]),
        ("Why? Because!", ["why", "?", "because"]),
        ("", []),
    ],
)
def test_tokenize_matches_glove_conventions(headline, tokens):
    assert tokenize([headline]) == [tokens]


def test_default_textvectorization_would_lose_what_glove_knows():
    """Keras' default TextVectorization strips punctuation and splits on spaces: "Won't" becomes
    "wont" (another word) and "U.S." becomes "us". Our tokenizer keeps GloVe 6B's tokens."""
    import keras

    default = keras.layers.TextVectorization()  # lower_and_strip_punctuation, whitespace split
    default.adapt(["Won't stop the U.S. e-mail"])
    assert sorted(default.get_vocabulary()[2:]) == ["email", "stop", "the", "us", "wont"]
    assert tokenize(["Won't stop the U.S. e-mail"]) == [["wo", "n't", "stop", "the", "u.s.", "e-mail"]]
    assert tokenize(["WHY!"])[0] == ["why"]  # trailing "!" stripped, case folded


def test_build_vocabulary_orders_by_frequency_and_appends_extra():
    words, counts = build_vocabulary(["a b b", "b c"], extra=["z", "b", "", "two words", UNK])
    assert words == ["b", "a", "c", "z"]
    assert counts["b"] == 3
    assert build_vocabulary(counts, extra=["z"]) == (words, counts)  # from counts: same result


def test_vectorizer_pads_truncates_and_marks_unknown():
    vec = make_vectorizer(["hope", "to", "see", "you"], length=4)
    ids = encode(vec, ["Hope to see you soon again", "you"])
    assert ids.tolist() == [[2, 3, 4, 5], [5, 0, 0, 0]]
    assert vec.get_vocabulary()[:2] == [PAD, UNK]
    assert encode(vec, ["Hope zzzunseen"]).tolist() == [[2, 1, 0, 0]]
    assert np.asarray(encode(vec, [])).shape[0] == 0


def test_vectorizer_rejects_bad_length():
    with pytest.raises(ValueError, match="got 0"):
        make_vectorizer(["a"], length=0)
