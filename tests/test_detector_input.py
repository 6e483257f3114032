"""Headlines handed to the detector (issue 17, defect 10): a 2-D array is refused with a clear
message instead of scoring each row's repr as one text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

HEADLINES = ["You Won't Believe What This Dog Did Next", "Senate passes budget bill"]


@pytest.mark.parametrize("texts", [np.array([HEADLINES, HEADLINES], dtype=object),
                                   np.array(HEADLINES, dtype=object).reshape(2, 1),
                                   pd.DataFrame({"headline": HEADLINES})])
def test_two_dimensional_input_is_refused(small_detector, texts):
    for method in (small_detector.predict_proba, small_detector.predict, small_detector.assess):
        with pytest.raises(ValueError, match=r"texts= must be one-dimensional.*shape \(2, [12]\)"):
            method(texts)


def test_rows_of_several_texts_are_refused_and_one_column_is_scored(small_detector):
    with pytest.raises(ValueError, match="headline 0 is a list"):
        small_detector.predict_proba([HEADLINES, HEADLINES])
    column = np.array(HEADLINES, dtype=object).reshape(2, 1)[:, 0]
    np.testing.assert_array_equal(small_detector.predict_proba(column),
                                  small_detector.predict_proba(HEADLINES))
    series = pd.Series(HEADLINES)
    np.testing.assert_array_equal(small_detector.predict_proba(series),
                                  small_detector.predict_proba(HEADLINES))
