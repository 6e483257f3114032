"""The plain reference every clickbait filter is compared with: lowercased TF-IDF word 1-2 grams
and char_wb 2-5 grams (sublinear tf, min_df=2) into LogisticRegression(C=10). One definition, so
that the comparison, the cross-source report and the adaptation benchmark judge the same model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def tfidf_baseline(texts: Sequence[str], labels: Sequence[int]):
    """The fitted scikit-learn pipeline (predict_proba over raw headlines; it lowercases)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                            lowercase=True)),
        LogisticRegression(C=10, max_iter=2000))
    return model.fit(list(texts), np.asarray(labels))
