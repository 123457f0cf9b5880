"""Finish notebooks 04 and 05 on top of commit 14ff35a ("WIP: notebooks 00-08 ..."): source edits only.

Usage, in a checkout where the new instrument is back (after `git revert <hold-back commit>`):
    .venv/bin/python /work/h0405_logs/finish_0405.py notebooks/04_hallucinations.ipynb notebooks/05_transparency.ipynb
then execute 04, then 05 (run `make idk-seeds` first if helpers/abstention.py, helpers/grading.py or
data/abstention_labelled.jsonl differ from 14ff35a's). Cells are found by id; the script refuses to
run when a cell's source is not the WIP one it expects to replace (so it cannot clobber later edits).
"""
import hashlib
import sys

import nbformat

P04, P05 = sys.argv[1], sys.argv[2]


def load(path):
    nb = nbformat.read(path, as_version=4)
    return nb, {c["id"]: c for c in nb.cells}


def put(cells, cid, text):
    c = cells[cid]
    digest = hashlib.sha1(c.source.encode()).hexdigest()[:10]
    assert digest == EXPECT[cid], f"{cid}: source is not the WIP one (sha1 {digest}, expected {EXPECT[cid]}); edit by hand"
    c.source = text.strip("\n")


nb, cells = load(P04)
EXPECT = {'12cf900b': 'b1fb727ed6', '91323e42': '7fb0f4cdfe', '63ecb020': '00eb99a8f2', '7fba19f2': '87654fa6b4', 'c4900e0e': 'f10c721ad5', 'd0e387ef': 'dbea266369', 'a0f520bf': '47be3d30a5', 'a1488893': '48c9e7d476', '83e20fd4': '7fd1d3ec6c', '4689c23c': '2ac9198c46', '22a7f0f9': '0927bc8777', '03cdff7a': 'ba8c4db26c'}  # sha1[:10] of each cell's source in 14ff35a

# section 2: the detector, measured on the held-out part of the labelled set
put(cells, "12cf900b", '''
The closest pairs share a template or a product name, not the thing asked about.

## 2. Measuring "declines": the abstention detector

Every rate here depends on one judgement: does a reply **abstain** (decline to answer, or correct the
false premise)? A few regular expressions decide, from the reply's form and its question
(`abstention.is_abstention`). We measured them on real replies, many from this notebook's own
systems, labelled by hand by meaning, without looking at the detector's verdict
(`data/abstention_labelled.jsonl`; the rules are in `tests/test_abstention.py`). The labelled replies
are split by question into two parts: the patterns were written on one (*pattern-writing*, `dev` in
the file); the other (*held-out*, `test`) only scores them. Quote the held-out numbers.

**Precision**: of the replies it flags, the share that really abstain. **Recall**: of the replies
that really abstain, the share it flags. Both get 95% Wilson intervals: the range of rates consistent
with what we counted.
''')
put(cells, "91323e42", '''
labelled = data.load_abstention_labelled()
detector = {split: abstention.measured(split) for split in ("dev", "test")}
held_out = detector["test"]
dev_questions, test_questions = ({r.question for r in labelled if r.split == s} for s in ("dev", "test"))
assert not dev_questions & test_questions, "split by question: no question has replies in both parts"
assert all(s.fp == s.fn == 0 for s in detector.values()), "the text below: no mistakes on either part"
sources = Counter("few-shot prompt" if "few-shot" in r.source else "this notebook's systems" if "04_hallucinations" in r.source
                  else "plain prompt" for r in labelled if r.abstains)
assert sources.most_common(1)[0][0] == "few-shot prompt", "the caveat below"
DETECTOR_NOTE = (f"Abstained and invented rates rest on the abstention detector: precision {held_out.precision}, "
                 f"recall {held_out.recall} on {held_out.n} held-out labelled replies (section 2).")
print(f"{len(labelled)} labelled replies; the {sum(sources.values())} that abstain came from: {dict(sources)}")
pd.DataFrame({{"dev": "pattern-writing part", "test": "held-out part"}[split]: {
    "replies": s.n, "really abstain": s.tp + s.fn, "flagged": s.tp + s.fp, "flagged wrongly": s.fp, "missed": s.fn,
    "precision [95% CI]": str(s.precision), "recall [95% CI]": str(s.recall)} for split, s in detector.items()}).T
''')
put(cells, "63ecb020", '''
No mistakes on either part. But the held-out part holds few replies that really abstain (the `really
abstain` column), so a perfect score is still consistent with the lower end of its interval: quote
the interval, not "100%". A caveat: the labelled abstentions are few and alike. Most came from
prompts with worked examples (few-shot, printed above), whose wording shapes the refusal; those from
this notebook's systems are mostly "I don't know" and cut-off lead-ins. The tables below print these
numbers beside every abstained or invented rate, and section 8 reads this notebook's own flagged
replies, and some unflagged ones, so you can judge the detector on these systems too.
''')
put(cells, "7fba19f2", '''
Each cell is a share with its 95% Wilson interval; n is the size of each set (first table). The line
under the table is the detector's held-out precision and recall (section 2): every abstained and
invented share rests on them.

## 5. The trade-off a threshold buys

A threshold trades answers for refusals. Below, every threshold from "never abstain" to "always
abstain" applied to the passages-only reader's replies (`hallucination.threshold_curve`: no new
generation), against the other systems as points with both intervals. Top left is best: answers the
answerable questions, invents nothing. The dashed line is what declining questions *at random* would
give: the baseline a threshold must beat.
''')

# section 8: the flagged replies, as the detector now judges them
put(cells, "c4900e0e", '''
# NBVAL_IGNORE_OUTPUT
flagged = [(name, part, r.question, r.prediction) for (name, part), rows in graded.items() for r in rows if r.abstained]
other = [f for f in flagged if f[3] != generation.IDK_REPLY]
print(f"{len(flagged)} replies flagged as abstaining; {len(flagged) - len(other)} are exactly {generation.IDK_REPLY!r}; the rest:")
lead_ins = [f for f in other if f[3].rstrip().endswith(":")]
assert len(other) < len(flagged) / 10 and len(lead_ins) > len(other) / 2, "the text below"
replies = [r for rows in graded.values() for r in rows]
no_internet = [r for r in replies if "has no internet" in r.prediction]
factory = [r for r in replies if "not available in the factory" in r.prediction]
assert no_internet and all(r.contains and not r.abstained for r in no_internet), "the text below"
assert factory and not any(r.contains or r.abstained for r in factory), "the text below"
with pd.option_context("display.max_colwidth", None):
    display(pd.DataFrame(other, columns=["system", "set", "question", "reply"]))
''')
put(cells, "d0e387ef", '''
Most of the rest are **lead-ins with nothing after them** (*"The chief executive of Marrowby
Instruments is:"*, *"... you can use the following formula:"*): the first-line rule cut the reply
before any answer, and the labelling rules count a reply with nothing to read as declining. Replies
saying a value "is not specified", and *"I'm unable to provide real-time updates"*, are genuine
refusals. Two replies show what the detector does *not* flag, though they contain refusal-like words:
*"The gateway's front light turns red when it has no internet."* is the right answer and counts as
correct; *"The calibration asks for a value that is not available in the factory settings."* gives a
value (a wrong one) and counts as wrong.

The other side: a reply can correct a false premise in words the detector misses. Here are the
passages-only reader's replies to the false-premise questions that were *not* flagged; read them
against the `why` column (what the document says):
''')

# verdict prose: the statuses of the claims table
put(cells, "a0f520bf", '''
The claims table at the end of the verdict checks each point on this run's numbers (*supported*: a
difference the test detects after Holm's correction, in the claimed direction; *no detectable
difference*: none detected); the cell fails if a rerun changes any of them.

1. **RAG grounded the answers the documents hold, not the ones they lack.** On answerable questions it
   gave more correct and fewer wrong answers than the model alone (both supported), yet it was still
   wrong on more than half of the outside questions. On the unanswerable questions it invented about
   as often as the model alone (no detectable difference), which invented on more than 9 in 10 of
   them. Telling the reader to use only the passages made no detectable difference.
2. **The fine-tuned model fabricated, but no more often than the model alone** (no detectable
   difference on the unanswerable questions; the Q&A adapter declined no outside question, the model
   alone almost none). Fine-tuning changed *what* it invents: its wrong and invented replies stated a
   training fact's answer far more often than the chance level (section 8). And it lost most of the
   general knowledge the base model had (supported, on all three seeds); the matched-steps control
   lost no more on any seed, so this is not about training longer. On the facts it was trained on, it
   was not distinguishable from RAG.
''')
put(cells, "a1488893", '''
3. **A retrieval threshold cut invention and paid in correct answers** (both supported), and did
   barely better than declining questions at random (the dashed line): on the evaluation questions the
   retrieval score does not detectably separate answerable from unanswerable ones (its AUC interval
   includes 0.5). It did on the development split, whose answerable questions (training wordings)
   scored higher on average than the held-out ones. Every threshold that halves invention gives up at
   least a third of the correct answers.
4. **Training to say "I don't know" cut invention and made the model decline most outside questions**
   (supported, on all three seeds). It cost no detectable share of its training facts, against the
   Q&A adapter or against the control with as many steps, on any seed (seed 2's drop against the
   control, the largest, does not survive Holm's correction). On general questions it mostly declined
   where the Q&A adapter answered wrong (supported); it did not answer detectably fewer of them right
   than either adapter. Treat a further loss of general knowledge as possible, not shown.

The guide's claims, on this model: RAG hallucinates less *on what the documents hold*; outside them
it invents like the model alone. Fine-tuned models do fabricate on unfamiliar inputs, as the base
model already did.
''')
checks = cells["83e20fd4"].source.replace(
    'assert share(QA, "outside", "abstained").mean == 0 == share("base", "outside", "abstained").mean   # 2',
    'assert share(QA, "outside", "abstained").mean == 0 < share("base", "outside", "abstained").mean < 0.1   # 2')
assert checks != cells["83e20fd4"].source, "checks cell: the line to replace is not there"
put(cells, "83e20fd4", checks)
lit = cells["4689c23c"].source.replace("Our borrowed answers (section 7)", "Our borrowed answers (section 8)")
assert lit != cells["4689c23c"].source
put(cells, "4689c23c", lit)
ex = cells["22a7f0f9"].source
ex2 = ex.replace("then the cells up to section\n   6.", "then the cells up to section\n   7.").replace(
    """load it with `data.load_abstention_labelled(folder)` and rerun
   the detector cell on it. How far does one mistake move precision or recall?""",
    """load it with `rows = data.load_abstention_labelled(folder)` and score
   its test split: `evaluate.detector_scores([r.abstains for r in test], [abstention.is_abstention(r.reply,
   r.question) for r in test])` with `test = [r for r in rows if r.split == "test"]`. How far does one
   mistake move precision or recall?""")
assert ex2.count("section\n   7.") == 1 and "score\n   its test split" in ex2, "exercises: text to replace not found"
put(cells, "22a7f0f9", ex2)
nbformat.write(nb, P04)

nb, cells = load(P05)
put(cells, "03cdff7a", '''
The claims table below checks each point on this run's numbers, and fails if a rerun changes one.

1. **Every RAG stage can be printed and checked.** The query, the passages with scores and source
   ids, the exact prompt and the answer's source are plain data (section 1). Over the held-out
   questions, the source held the answer more often than the answer was right (supported): the gap
   is the reader.
2. **A RAG failure can be traced to a stage** from strings alone: wrong answers came from each of
   retrieval misses, reading errors and unsupported claims (section 2). Checking an answer against its
   source also flags replies that grading calls correct, like the walk-through's (the check is
   lexical, so read the flagged ones).
3. **A model fine-tuned on Q&A pairs without sources cannot say where an answer came from.** Asked,
   it named the right document for none of its inside questions; the RAG reader, asked the same, did
   better, and RAG's recorded source, which needs no asking, better still (both supported). The
   adapter's weights can be inspected, but that map is computed without any question.
4. **Inspectable sources are also attackable.** Our planted files won the search for fewer than half
   of their questions, and correct answers showed no detectable change; but the reader repeated false
   prices it was handed. It ignored the injected instruction. Provenance shows which answers came
   from a planted file, by construction: that is its strength and its limit.
''')
nbformat.write(nb, P05)
print("finished", P04, P05)
