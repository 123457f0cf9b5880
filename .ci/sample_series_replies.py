"""Sample the series' own graded replies for the abstention detector's labelled set.

Notebooks 00 and 04 store every reply they grade in ``results/replies/<notebook>.jsonl``
(:func:`helpers.results.save_replies`: system, qid, kind, question, reply). Those are the replies
the detector actually judges, so its labelled set (``data/abstention_labelled.jsonl``) samples
them. Two steps, with the labelling by hand in between:

    .venv/bin/python .ci/sample_series_replies.py sample [--replies DIR]   # -> .cache/series_sample.jsonl
    # label every sampled reply by reading it (rules: tests/test_abstention.py), without running
    # the detector: one line {"id", "abstains", "why"} each, in .cache/series_labels.jsonl
    .venv/bin/python .ci/sample_series_replies.py merge                    # appends to data/abstention_labelled.jsonl

``sample`` reads whichever of :data:`NOTEBOOKS`' reply files exist under ``--replies`` (default
``results/replies``) and prints which it read, with their SHA-256, also written to
``<out>.manifest.json``. It then

1. drops repeated (question, reply) pairs, keeping the first in file order, and pairs already in the
   labelled file;
2. shuffles each stratum (a notebook's system, e.g. ``04_hallucinations`` / ``IDK fine-tuned |
   outside``) with its own generator seeded from :data:`SEED` and the stratum's name, and draws from
   the strata in turn, one reply at a time, up to each stratum's :data:`QUOTA` (default
   :data:`DEFAULT_QUOTA`; ``None``: all of it);
3. skips a reply once :data:`CAP` copies of its exact text (stripped) are in the labelled file and the
   sample together, so that one string ("I don't know") cannot dominate the set; drawing in turn
   spreads those copies over the strata;
4. gives each reply the split of its question: the split it already has in the labelled file, or else,
   for new questions in order of first appearance in the files, alternately ``dev`` and ``test``.

The quotas are all ``None``: the files are small enough to label whole (notebook 04's 990 replies are
708 distinct (question, reply) pairs not yet labelled, 552 under the cap), and a census needs no
choice of strata, so the detector plays no part in which replies are labelled: a reply it misses is
as likely to be labelled as one it catches, and the measured recall is not flattered by the sampling.
What the census cannot fix is the series itself: its systems decline almost only with the exact
string "I don't know" (the IDK adapter, and the RAG system that abstains below a retrieval
threshold), so under the cap the abstaining class stays small; the manifest and
``tests/test_abstention.py`` report how small.

``merge`` joins the sample with the labels (every sampled id must have one) and appends the records,
with ``source`` ``results/replies/<notebook>: <system>`` and ids ``r<NN>-<number>``, to the
labelled file. It refuses ids that are already there.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "data" / "abstention_labelled.jsonl"
NOTEBOOKS = ("00_setup", "04_hallucinations")     # the notebooks that count abstentions and store replies
SEED = 20261207
CAP = 5                                            # copies of one exact reply text in the sample, at most

# (notebook, system) -> replies to draw (None: every one left after de-duplication and the cap). Empty:
# every stratum is taken whole (see the module doc); a quota is for reply files too large to label whole.
QUOTA: dict[tuple[str, str], int | None] = {}
DEFAULT_QUOTA: int | None = None


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample(replies_dir: Path, labelled: Path = LABELLED, quota: dict | None = None,
           default_quota: int = DEFAULT_QUOTA, cap: int = CAP, seed: int = SEED) -> tuple[list[dict], dict]:
    """The sampled replies (without labels) and a manifest of what was read and drawn."""
    quota = QUOTA if quota is None else quota
    files = [(nb, replies_dir / f"{nb}.jsonl") for nb in NOTEBOOKS if (replies_dir / f"{nb}.jsonl").exists()]
    if not files:
        raise FileNotFoundError(f"none of {[f'{nb}.jsonl' for nb in NOTEBOOKS]} in {replies_dir}")
    known = _read(labelled)
    seen = {(r["question"], r["reply"]) for r in known}
    split_of = {r["question"]: r["split"] for r in known}

    strata: dict[tuple[str, str], list[dict]] = {}
    new_questions: list[str] = []
    read = Counter()
    for nb, path in files:
        for r in _read(path):
            read[nb] += 1
            if r["question"] not in split_of and r["question"] not in new_questions:
                new_questions.append(r["question"])
            if (r["question"], r["reply"]) in seen:
                continue
            seen.add((r["question"], r["reply"]))
            strata.setdefault((nb, r["system"]), []).append({**r, "notebook": nb})
    for i, q in enumerate(new_questions):
        split_of[q] = ("dev", "test")[i % 2]

    order = [s for s in quota if s in strata] + [s for s in strata if s not in quota]
    queues = {}
    for stratum in order:
        items = list(strata[stratum])
        random.Random(f"{seed}:{stratum[0]}:{stratum[1]}").shuffle(items)
        queues[stratum] = items
    # copies of a text already in the labelled file count towards the cap, so that a later run (say,
    # once notebook 00's file exists) adds to the set without exceeding it
    copies: Counter = Counter(r["reply"].strip() for r in known)
    taken: Counter = Counter()
    capped: Counter = Counter()
    drawn: list[dict] = []
    # round robin over the strata, one reply each turn, so that the cap does not give every copy of a
    # frequent text to the first stratum visited
    while any(queues.values()):
        for stratum in order:
            want = quota.get(stratum, default_quota)
            while queues[stratum] and (want is None or taken[stratum] < want):
                r = queues[stratum].pop(0)
                text = r["reply"].strip()
                if copies[text] >= cap:
                    capped[stratum] += 1
                    continue
                copies[text] += 1
                taken[stratum] += 1
                drawn.append(r)
                break
            else:
                queues[stratum] = []
    per_stratum = {f"{nb}: {system}": {"distinct pairs": len(strata[(nb, system)]), "drawn": taken[(nb, system)],
                                       "skipped (cap)": capped[(nb, system)]} for nb, system in order}

    number = Counter()
    for r in known:       # new ids continue after the ones already in the file
        prefix, _, n = r["id"].partition("-")
        if re.fullmatch(r"r\d\d", prefix) and n.isdigit():
            number[prefix] = max(number[prefix], int(n))
    records = []
    for r in drawn:
        prefix = f"r{r['notebook'][:2]}"
        number[prefix] += 1
        records.append({"id": f"{prefix}-{number[prefix]:03d}",
                        "source": f"results/replies/{r['notebook']}: {r['system']}",
                        "qid": r["qid"], "kind": r["kind"], "question": r["question"], "reply": r["reply"],
                        "split": split_of[r["question"]]})
    manifest = {"read from": str(replies_dir),
                "files": {f"results/replies/{nb}.jsonl": {"sha256": _sha256(p), "replies": read[nb]} for nb, p in files},
                "seed": seed, "cap": cap, "strata": per_stratum, "sampled": len(records),
                "distinct reply texts": len({r["reply"].strip() for r in records})}
    return records, manifest


def merge(sample_path: Path, labels_path: Path, labelled: Path = LABELLED) -> int:
    """Append the labelled sample to the labelled file; returns the number of records appended."""
    drawn = _read(sample_path)
    labels = {r["id"]: r for r in _read(labels_path)}
    missing = [r["id"] for r in drawn if r["id"] not in labels]
    if missing:
        raise ValueError(f"{len(missing)} sampled replies have no label, e.g. {missing[:5]}")
    extra = set(labels) - {r["id"] for r in drawn}
    if extra:
        raise ValueError(f"labels for ids that were not sampled: {sorted(extra)[:5]}")
    present = {r["id"] for r in _read(labelled)}
    clash = [r["id"] for r in drawn if r["id"] in present]
    if clash:
        raise ValueError(f"ids already in {labelled.name}: {clash[:5]}")
    lines = []
    for r in drawn:
        lab = labels[r["id"]]
        if not isinstance(lab["abstains"], bool) or not lab["why"].strip():
            raise ValueError(f"{r['id']}: a label needs abstains (true/false) and a why")
        lines.append(json.dumps({"id": r["id"], "source": r["source"], "question": r["question"], "reply": r["reply"],
                                 "abstains": lab["abstains"], "why": lab["why"], "split": r["split"]},
                                ensure_ascii=False))
    text = labelled.read_text(encoding="utf-8")
    labelled.write_text(text + ("" if text.endswith("\n") else "\n") + "\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="draw the replies to label")
    s.add_argument("--replies", type=Path, default=ROOT / "results" / "replies")
    s.add_argument("--out", type=Path, default=ROOT / ".cache" / "series_sample.jsonl")
    m = sub.add_parser("merge", help="append the labelled sample to data/abstention_labelled.jsonl")
    m.add_argument("--sample", type=Path, default=ROOT / ".cache" / "series_sample.jsonl")
    m.add_argument("--labels", type=Path, default=ROOT / ".cache" / "series_labels.jsonl")
    args = parser.parse_args(argv)

    if args.command == "merge":
        print(f"{merge(args.sample, args.labels)} labelled replies appended to {LABELLED}")
        return 0
    records, manifest = sample(args.replies)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    Path(f"{args.out}.manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")
    print(json.dumps(manifest, indent=1, ensure_ascii=False))
    print(f"{len(records)} replies written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
