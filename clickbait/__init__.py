"""clickbait: a clickbait-headline detector built on GloVe vectors, a metric-learning head and a
nearest-case (case-based reasoning) classifier."""

__version__ = "0.1.0"
