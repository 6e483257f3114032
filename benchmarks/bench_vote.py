"""How the vote's settings were chosen: k (nearest cases of each class) and the headline check's
cut, judged on validation out-of-fold ROC-AUC, downs2014 ROC-AUC and generated nonsense flagged,
never on the corpus test split. No retraining: the network and cases of saved models are reused
and only the vote is refitted (ClickbaitDetector.refit_vote's path).

    python benchmarks/bench_vote.py --models build/models/seed0 build/models/seed1 build/models/seed2
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clickbait.cases import class_neighbours  # noqa: E402
from clickbait.detector import ClickbaitDetector  # noqa: E402
from clickbait.files import write_file  # noqa: E402
from clickbait.headline import non_headlines  # noqa: E402
from clickbait.vote import decide  # noqa: E402

KS = (10, 25, 50, 100, 200)
CUTS = (0.005, 0.01, 0.02)


def sweep(model_dir: str, downs_path: Path) -> list[dict]:
    det = ClickbaitDetector.load(model_dir)
    downs = pd.read_csv(downs_path, keep_default_na=False)
    ids = det.cases_.ids
    held = np.flatnonzero((ids >= det.validation_from_id_) & (ids < det.retained_from_id_))
    texts = det.cases_.meta["text"].to_numpy()[held].tolist()
    labels = det.cases_.labels[held].astype("int64")
    val_ids, val_emb = det._ids(texts), det.cases_.embeddings[held]
    downs_ids = det._ids(downs["headline"].tolist())
    downs_emb = det._embed_ids(downs_ids)
    # Nonsense from another seed than the one the headline check is fitted against.
    junk_ids = det._ids(non_headlines(det.vocabulary_[:det.headline_check_.n_train_words], 1500, 12345))
    junk_emb = det._embed_ids(junk_ids)
    rows = []
    for k in KS:
        for cut in CUTS:
            det.k = k
            det._fit_vote(val_ids, val_emb, labels, held, headline_cut=cut)
            nb = class_neighbours([det.cases_], [1.0], val_emb, k, exclude=held)
            val_p = decide(nb, det.combiner_, det.headline_check_.proba(val_ids), det.prior_,
                           det.support_cut_).proba
            downs_p = det._decide(downs_ids, downs_emb).proba
            junk = det._decide(junk_ids, junk_emb)
            row = {"model": model_dir, "k": k, "headline_cut": cut,
                   "valid_oof_roc_auc": round(float(roc_auc_score(labels, val_p)), 4),
                   "downs2014_roc_auc": round(float(roc_auc_score(downs["label"], downs_p)), 4),
                   "nonsense_flagged": round(float(junk.label(det.threshold_).mean()), 4)}
            row["criterion"] = round((row["valid_oof_roc_auc"] + row["downs2014_roc_auc"]) / 2, 4)
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--downs", default=str(ROOT.parent / "shared" / "data" / "downs2014.csv"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "vote_settings.json"))
    a = ap.parse_args()
    rows = [r for m in a.models for r in sweep(m, Path(a.downs))]
    table = pd.DataFrame(rows).groupby(["k", "headline_cut"])[
        ["valid_oof_roc_auc", "downs2014_roc_auc", "nonsense_flagged", "criterion"]].median()
    print(table.to_string())
    out = {"command": shlex.join([Path(sys.executable).name, *sys.argv]), "rows": rows,
           "median": table.reset_index().to_dict(orient="records")}
    write_file(Path(a.out), json.dumps(out, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
