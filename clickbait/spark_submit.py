"""The application file for spark-submit (absolute imports: spark-submit runs it as a script).

    spark-submit --archives model.zip#model \
        "$(python -c 'import clickbait.spark_submit as m; print(m.__file__)')" model/default IN OUT

takes the arguments of `clickbait score-spark` (see README, "Scoring on Spark").
"""

import sys

from clickbait.cli import main

if __name__ == "__main__":
    sys.exit(main(["score-spark", *sys.argv[1:]]))
