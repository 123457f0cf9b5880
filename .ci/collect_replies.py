"""Collect real replies of the generator, the raw material of the abstention test set.

The labelled set ``data/abstention_labelled.jsonl`` (read by ``tests/test_abstention.py``)
was built from this script's output: every reply was then labelled by reading it. This script
only regenerates the *unlabelled* replies, so that anyone can check that the labelled replies are
real model output:

    OMP_NUM_THREADS=1 .venv/bin/python .ci/collect_replies.py                # writes .cache/abstention_replies.jsonl
    OMP_NUM_THREADS=1 .venv/bin/python .ci/collect_replies.py --out FILE
    OMP_NUM_THREADS=1 .venv/bin/python .ci/collect_replies.py --check data/abstention_labelled.jsonl

``--check`` regenerates and reports every labelled record whose reply differs from the fresh one
(after a change to the prompt or to ``generation.generate`` some will; the labels then need
reading again for those records only). It checks only the records this script made: the replies
the series' own notebooks graded (ids ``r<NN>-...``, source ``results/replies/...``) were drawn by
``.ci/sample_series_replies.py`` from the notebooks' stored reply files.

Sources, each record tagged with its ``source``:

* ``notebooks/<name>: <column>``: replies stored in the notebooks' outputs as committed in
  :data:`NOTEBOOK_COMMIT` (the HTML tables that have ``question`` and ``gold`` columns, and the one
  printed RAG answer of notebook 00). Cells that pandas shortened with ``...`` are skipped: only
  complete replies are kept. These came from the earlier generation settings (no stop at the
  first line break), so some run over two lines.
* ``closed-book``: the 48 unanswerable questions of ``data/unanswerable.jsonl``, no context.
* ``rag``: 100 questions, each with the top-2 paragraphs of the version-1 knowledge base: the same
  48 unanswerable questions, the 12 questions of :data:`FALSE_PREMISE` (``data/false_premise.jsonl``; whose premise the
  documents contradict), and 40 answerable held-out paraphrases (every fifth fact, first
  paraphrase).
* ``rag few-shot A`` / ``rag few-shot B``: the same 100 questions and passages, after the worked
  examples of :data:`FEW_SHOT` (the only way found to get this model to decline at all often).

Record ids: ``nb-NN`` (notebooks, in order), ``cb-<question id>``, ``rag-<question id>``,
``fsA-<question id>``, ``fsB-<question id>``; question ids are ``U###`` (unanswerable), ``P##``
(false premise) and ``F###/h1`` (answerable).

Decoding is greedy (``generation.generate`` with the pinned settings :data:`SYSTEM` and
:data:`GENERATE`), so a rerun on the same software and CPU gives the same replies (another device,
or other library versions, can change a near-tie between two tokens and with it a reply). The
models load offline, as everywhere in the series; the whole run takes 2-15 minutes on a busy
2-core CPU.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import data  # noqa: E402  (after the path is set)

# The notebooks' stored outputs are read as committed here (the commit "Tidy: normalize_answer is an
# alias ..."), not from the working tree: outputs change whenever the notebooks are re-executed.
NOTEBOOK_COMMIT = "3406785e6425344f08e456b8a502d79b7403a81e"
NOTEBOOKS = ("notebooks/00_setup_and_first_look.ipynb", "notebooks/01_dynamic_vs_static_data.ipynb",
             "notebooks/02_external_knowledge.ipynb")

# Questions whose premise the knowledge base (data/kb_v1/docs) contradicts, with the document that
# contradicts it (data/false_premise.jsonl). A reply that points out the false premise is an abstention.
FALSE_PREMISE: list[tuple[str, str, str]] = [(p.id, p.question, f"{p.doc}: {p.why}") for p in data.load_false_premise()]


class _Tables(HTMLParser):
    """The cell texts of every ``<table>`` in an HTML fragment (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _unescape(cell: str) -> str:
    # pandas' HTML shows a newline inside a cell as the two characters backslash + n
    return html.unescape(cell).replace("\\n", "\n").strip()


def _committed(path: str, commit: str = NOTEBOOK_COMMIT) -> str:
    return subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True,
                          text=True, encoding="utf-8").stdout


def notebook_replies(notebooks: tuple[str, ...] = NOTEBOOKS) -> list[dict]:
    """Complete replies found in the stored outputs of ``notebooks`` (as of :data:`NOTEBOOK_COMMIT`)."""
    records = []
    for path in notebooks:
        nb = json.loads(_committed(path))
        name = Path(path).stem
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                page = "".join(out.get("data", {}).get("text/html", ""))
                if page:
                    parser = _Tables()
                    parser.feed(page)
                    for table in parser.tables:
                        header = [_unescape(c) for c in table[0]] if table else []
                        if "question" not in header or "gold" not in header:
                            continue
                        replies = [c for c in header if c and c not in ("question", "gold")]
                        for row in table[1:]:
                            cells = dict(zip(header, (_unescape(c) for c in row), strict=True))
                            for column in replies:
                                reply = cells.get(column, "")
                                if reply.endswith("..."):      # shortened for display
                                    continue
                                records.append({"source": f"notebooks/{name}: {column}",
                                                "question": cells["question"], "reply": reply})
                text = "".join(out.get("text", ""))
                # notebook 00 prints one RAG answer: "answer: <reply>\nsources: ..."
                match = re.search(r"^answer: (.*?)\nsources: ", text, re.S | re.M)
                if match:
                    question = _printed_question(nb)
                    records.append({"source": f"notebooks/{name}: printed RAG answer",
                                    "question": question, "reply": match.group(1).strip()})
    return records


def _printed_question(nb: dict) -> str:
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            match = re.search(r"^question: (.*?) \| gold document", "".join(out.get("text", "")), re.M)
            if match:
                return match.group(1)
    raise ValueError("the printed question was not found")


# Generation settings, pinned so that the replies stay reproducible when the series' defaults
# change: the series' system prompt and decoding when the set was labelled (greedy, stopped at the
# first line break, 24 new tokens at most). RAG prompts get the top-2 passages.
SYSTEM = "Answer in a few words. If you do not know, reply \"I don't know\"."
GENERATE = {"max_new_tokens": 24, "batch_size": 16, "first_line": True}

# Few-shot prompts: worked examples put before the question as earlier chat turns (each example
# question with its own top-2 passages). Zero-shot, the 135M model almost never declines (3 of its
# 148 closed-book and RAG replies); these examples make it decline about one time in six, mostly in
# words close to theirs, so that the labelled set has enough real abstentions. Of several example
# sets tried, these two made it decline most often. No example question is among those asked.
FEW_SHOT: dict[str, list[tuple[str, str]]] = {
    "A": [("How much does the Hearth gateway cost?", "€129."),
          ("What colour is the Hearth gateway?", "The passages do not say."),
          ("What is the address of Marrowby's Madrid office?", "Marrowby has no office in Madrid.")],
    "B": [("How much does the Hearth gateway cost?", "€129."),
          ("What colour is the Hearth gateway?", "The passages do not mention it."),
          ("Which river runs past Marrowby's Madrid office?", "Marrowby has no Madrid office.")],
}


def generated_replies() -> list[dict]:
    """Fresh greedy replies of the default generator (closed-book and RAG, see the module doc)."""
    from helpers import data, generation, models, retrieval

    gen, tok = models.load_generator()
    emb = models.load_embedder()
    index = retrieval.VectorIndex.build(emb, retrieval.chunk_documents(data.load_corpus(1), "paragraph"))

    def answer(prompts: list[list[dict[str, str]]]) -> list[str]:
        return [a.text for a in generation.generate(gen, tok, prompts, **GENERATE)]

    unanswerable = data.load_unanswerable()
    answerable = data.fact_questions(data.load_facts(1)[::5], "h1")
    # (id, question) for every RAG question: unanswerable, false premise, answerable
    asked = ([(u.id, u.question) for u in unanswerable] + [(p, q) for p, q, _ in FALSE_PREMISE]
             + [(q.qid, q.text) for q in answerable])
    ids, questions = [i for i, _ in asked], [q for _, q in asked]
    hits = index.search_many(questions, k=2)

    records: list[dict] = []

    def add(source: str, prefix: str, ids: list[str], questions: list[str], replies: list[str]) -> None:
        records.extend({"id": f"{prefix}-{qid}", "source": source, "question": question, "reply": reply}
                       for qid, question, reply in zip(ids, questions, replies, strict=True))

    cb = [(u.id, u.question) for u in unanswerable]
    add("closed-book", "cb", [i for i, _ in cb], [q for _, q in cb],
        answer([generation.closed_book_messages(q, SYSTEM) for _, q in cb]))
    add("rag", "rag", ids, questions, answer([generation.rag_messages(q, h, SYSTEM) for q, h in zip(questions, hits, strict=True)]))
    for name, examples in FEW_SHOT.items():
        shots: list[dict[str, str]] = []
        for q, a in examples:
            shots += [*generation.rag_messages(q, index.search(q, k=2), SYSTEM)[1:],
                      {"role": "assistant", "content": a}]
        add(f"rag few-shot {name}", f"fs{name}", ids, questions,
            answer([[{"role": "system", "content": SYSTEM}, *shots, *generation.rag_messages(q, h, SYSTEM)[1:]]
                    for q, h in zip(questions, hits, strict=True)]))
    return records


def collect() -> list[dict]:
    """Every reply, each with a stable ``id``."""
    records = notebook_replies()
    for i, r in enumerate(records, start=1):
        r["id"] = f"nb-{i:02d}"
    fresh = generated_replies()
    return [{"id": r["id"], "source": r["source"], "question": r["question"], "reply": r["reply"]}
            for r in records + fresh]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "abstention_replies.jsonl")
    parser.add_argument("--check", type=Path, help="labelled file whose replies to compare with fresh ones")
    args = parser.parse_args(argv)

    records = collect()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for r in records:
            handle.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(records)} replies written to {args.out}")

    if args.check:
        fresh = {r["id"]: r for r in records}
        labelled = [r for r in (json.loads(line) for line in args.check.read_text(encoding="utf-8").splitlines()
                                if line.strip())
                    if not r["source"].startswith("results/replies/")]      # sample_series_replies.py's
        changed = [r for r in labelled if r["id"] not in fresh or fresh[r["id"]]["reply"] != r["reply"]]
        for r in changed:
            now = fresh.get(r["id"], {}).get("reply", "<no longer produced>")
            print(f"{r['id']}: labelled {r['reply']!r}\n{' ' * len(r['id'])}  now      {now!r}")
        print(f"{len(labelled) - len(changed)} of {len(labelled)} labelled replies reproduced")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
