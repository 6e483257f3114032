# make train: install, prepare the vectors, train on ../shared/data, evaluate, write build/reports/
#             (untracked: a fresh clone stays clean; the committed reports/ come from make report).
# make test:  install, prepare the vectors, run the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
GLOVE ?= pretrained/glove.6B.50d.txt
MODEL ?= models/default
# Training options: unset, they take ClickbaitDetector's defaults (`clickbait train --help` shows
# them); set one to pass its flag, e.g. `make train DIM=64 TRAINABLE=0`.
ENCODER ?=
LOSS ?=
DIM ?=
EPOCHS ?=
TRAINABLE ?=
FINE_TUNE ?=
K ?=
SEED ?=
TRAIN_FLAGS = $(if $(ENCODER),--encoder $(ENCODER)) $(if $(LOSS),--loss $(LOSS)) \
	$(if $(DIM),--dim $(DIM)) $(if $(EPOCHS),--epochs $(EPOCHS)) \
	$(if $(FINE_TUNE),--fine-tune-epochs $(FINE_TUNE)) $(if $(K),-k $(K)) $(if $(SEED),--seed $(SEED)) \
	$(if $(TRAINABLE),$(if $(filter 1 yes true,$(TRAINABLE)),--trainable,--no-trainable)) \
	--vectors $(GLOVE) --data-dir $(DATA)
PYTEST_FLAGS ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install pretrained train compare test test-slow lint bench clean notebooks score bench-score bench-spark bench-adapt bench-users condense evaluate-sources bench-adapt-source report bench-vote bench-subword bench-setup bench-fast bench-latency

install: $(VENV)/.installed
# constraints.txt pins the versions the tests passed with (edit it to move to newer ones).
$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,spark,dask]'
	touch $@

pretrained: $(GLOVE)
pretrained/glove.6B.50d.txt: | $(VENV)/.installed
	$(BIN)/clickbait pretrained --output $@

train: install pretrained
	$(BIN)/clickbait train $(TRAIN_FLAGS) --output $(MODEL) --reports build/reports --force

# Targets that need a trained model train one first if there is none.
$(MODEL)/current/config.json: | $(VENV)/.installed $(GLOVE)
	$(MAKE) train

compare: install pretrained
	$(BIN)/clickbait compare $(TRAIN_FLAGS) --reports reports

# The published figures: the default model trained once per seed (build/models/seedN, reports in
# build/reports/seedN), the cross-source report over those models, then reports/metrics.json
# (each seed, mean, spread), the first seed's plots, the README's results block and MODEL_CARD.md,
# from whatever report files exist (clickbait/model_card.py).
SEEDS ?= 0 1 2
report: install pretrained
	for s in $(SEEDS); do $(BIN)/clickbait train $(TRAIN_FLAGS) --seed $$s --output build/models/seed$$s \
		--reports build/reports/seed$$s --force || exit 1; done
	$(BIN)/clickbait evaluate-sources $(foreach s,$(SEEDS),build/models/seed$(s)) --data-dir $(DATA) \
		--reports reports --force $(addprefix --data ,$(EXTRA))
	$(BIN)/python -m clickbait.model_card --runs $(foreach s,$(SEEDS),build/reports/seed$(s)) \
		--reports reports --readme README.md --card MODEL_CARD.md

test: install pretrained
	$(BIN)/python -m pytest -q $(PYTEST_FLAGS) -m "not slow"

# Long runs (full-size training); "no tests collected" (pytest's exit 5) fails like any error.
test-slow: install pretrained
	$(BIN)/python -m pytest -q $(PYTEST_FLAGS) -m slow

lint: install
	$(BIN)/ruff check clickbait tests benchmarks

# Execute notebooks/*.ipynb top to bottom at full size into notebooks/executed/ (git-ignored);
# NOTEBOOK_FLAGS=--small runs them at the CI size (tests/test_notebooks.py does that).
notebooks: install pretrained
	$(BIN)/python notebooks/run.py --output-dir notebooks/executed $(NOTEBOOK_FLAGS)

bench: install pretrained bench-score bench-adapt
	$(BIN)/python benchmarks/bench_vectors.py --glove $(GLOVE)

# make score IN=headlines.csv OUT=scored.csv [SCORE_FLAGS="--text-column title --force"]
score: install $(MODEL)/current/config.json
	@test -n "$(IN)" -a -n "$(OUT)" || { echo "usage: make score IN=input.csv OUT=output.csv" >&2; exit 2; }
	$(BIN)/clickbait score $(MODEL) $(IN) -o $(OUT) $(SCORE_FLAGS)

# The whole `clickbait score` command vs TF-IDF + logistic regression, same run: distinct and
# repeated headlines, start-up, peak RSS at two sizes -> benchmarks/results/score.json; the
# distinct figure alone in twelve pairs -> score_distinct_repeats.json
BENCH_ROWS ?= 300000
BENCH_RSS_ROWS ?= 100000 1000000
bench-score: install pretrained $(MODEL)/current/config.json condense
	nice $(BIN)/python benchmarks/bench_score.py --rows $(BENCH_ROWS) --rss-rows $(BENCH_RSS_ROWS) --model $(MODEL)
	nice $(BIN)/python benchmarks/bench_score.py --rows $(BENCH_ROWS) --parts distinct --repeats 12 \
		--model $(MODEL) --results benchmarks/results/score_distinct_repeats.json
	nice $(BIN)/python benchmarks/bench_score.py --rows $(BENCH_ROWS) --parts distinct start-up stages \
		--model $(CONDENSED) --results benchmarks/results/score_condensed.json

# A newcomer's first calls: `clickbait explain` on one headline, load + first predict_proba
# -> benchmarks/results/latency.json
bench-latency: install pretrained $(MODEL)/current/config.json
	nice $(BIN)/python benchmarks/bench_latency.py --model $(MODEL) --runs 5

# The fast retrieval against the exact scan on the make-report models (quality on every source,
# labels alike, search + vote time) -> benchmarks/results/fast.json
bench-fast: install pretrained
	nice $(BIN)/python benchmarks/bench_fast.py --models $(foreach s,$(SEEDS),build/models/seed$(s))

# Spark local[2] vs the single-process command on 200k distinct headlines -> benchmarks/results/spark.json
bench-spark: install pretrained $(MODEL)/current/config.json
	nice $(BIN)/python benchmarks/bench_spark.py --rows 200000 --master 'local[2]' --model $(MODEL)

# Cross-source report: corpus test, downs2014 (and EXTRA="a.csv b.csv") against the TF-IDF
# baseline fitted in the same run -> build/reports/cross_source.{md,json}, cross_source_reliability.png
# (untracked; make report writes the committed reports/); MODELS="models/s0 models/s1" reports
# several models (seeds) and their median
EXTRA ?=
evaluate-sources: install $(MODEL)/current/config.json
	$(BIN)/clickbait evaluate-sources $(or $(MODELS),$(MODEL)) --data-dir $(DATA) --reports build/reports \
		--force $(addprefix --data ,$(EXTRA))

# Adaptation curves on the models `make report` trained (one process per model, then merged):
# retain / learn / TF-IDF refit / retrain on youtube2018 by channel, downs2014 and the no-lists
# persona, N = 0..3,000, corpus test ROC-AUC and ECE after each (~40 min on 2 cores)
# -> benchmarks/results/adaptation.{json,md}; then the explanation check -> benchmarks/results/explain.json
ADAPT = nice $(BIN)/python benchmarks/bench_adaptation.py --models build/models/seed$$s --seeds $$s
bench-adapt: install pretrained
	for s in $(SEEDS); do ( $(ADAPT) --sources youtube no-lists --ns 0 300 1000 --learn-ns 1000 \
		--retrain-n 1000 --out build/bench/adaptation_seed$$s.json && \
		$(ADAPT) --sources youtube no-lists --ns 100 3000 --learn-ns 3000 --retrain-n 0 \
		--out build/bench/adaptation_more_seed$$s.json && \
		$(ADAPT) --sources downs2014 --ns 0 300 1000 --learn-ns 1000 --retrain-n 0 \
		--out build/bench/adaptation_downs_seed$$s.json ) & done; wait
	$(BIN)/python benchmarks/bench_adaptation.py --combine $(foreach s,$(SEEDS),$(foreach p,seed more_seed \
		downs_seed,build/bench/adaptation_$(p)$(s).json))
	nice $(BIN)/python benchmarks/bench_explain.py --models $(foreach s,$(SEEDS),build/models/seed$(s))
	$(BIN)/python -m clickbait.model_card --adaptation-only --readme README.md
	nice $(BIN)/python benchmarks/bench_learn.py --model build/models/seed0

# The older user-overlay curves and case-base condensing -> reports/adaptation.{png,json},
# benchmarks/results/adapt.json
bench-users: install pretrained $(MODEL)/current/config.json
	nice $(BIN)/python benchmarks/bench_adapt.py --model $(MODEL)

# How the vote's k and headline-check cut were chosen (validation out of fold, downs2014, generated
# nonsense; never the test split), on the models `make report` trained -> benchmarks/results/vote_settings.json
bench-vote: install pretrained
	nice $(BIN)/python benchmarks/bench_vote.py --models $(foreach s,$(SEEDS),build/models/seed$(s))

# Adapting to a new source only: retain 0/100/300/1,000 downs2014 rows vs the baseline refitted on
# corpus + the same rows -> reports/adapt_source.{json,png}, benchmarks/results/adapt_source.json
bench-adapt-source: install pretrained $(MODEL)/current/config.json
	nice $(BIN)/python benchmarks/bench_adapt.py --model $(MODEL) --source-only

# Subword evidence: the product's words-only encoder vs the same + hashed character
# n-grams, SEEDS each, both through the product's vote, next to the TF-IDF baseline (~20 min)
# -> benchmarks/results/subword.json (intermediates in build/subword)
bench-subword: install pretrained
	nice $(BIN)/python benchmarks/bench_subword.py --seeds $(SEEDS) --out benchmarks/results/subword.json \
		--work build/subword --data-dir $(DATA) --vectors $(GLOVE)

# What the README's two commands cost: disk of .venv and the vectors, the test suite's wall time
# -> benchmarks/results/setup.json (the README's set-up block is written from it by make report)
bench-setup: install pretrained
	$(BIN)/python benchmarks/bench_setup.py --tests

# Wilson editing + condensing of the case base into a new model directory.
CONDENSED ?= models/condensed
condense: install $(MODEL)/current/config.json
	$(BIN)/clickbait condense $(MODEL) -o $(CONDENSED) --force

clean:
	rm -rf $(VENV) .cache build *.egg-info
