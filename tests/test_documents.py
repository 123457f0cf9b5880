"""``helpers.documents``: real files are read as clean text (markup without content removed, code
kept), normalized as the grader normalizes, and chunked by section with their heading paths."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import documents, evaluate
from helpers.data import DataError, Document

MARKDOWN = """<p align="center">
  <a href="https://example.org">
    <img src="https://example.org/logo.svg" alt="logo" />
  </a>
</p>

# ferrylib [![PyPI](https://img.shields.io/pypi/v/ferrylib.svg)](https://pypi.org/project/ferrylib)

[![Build](https://ci.example/badge.svg)](https://ci.example) ![cov](https://cov.example/badge.svg)

<!-- a comment nobody should index -->
**ferrylib** is a [library](https://ferry.example) for timetables. See <https://ferry.example/docs>.

Installation
------------

```bash
# install it
pip install ferrylib==2.4
```

| Option | Default |
|--------|---------|
| `--fast` | `False` |

[docs]: https://ferry.example/docs

## Changelog
### 2.4 (2024-05-01)
- Fixed the \ufb01le bug.
"""

RST = """.. image:: https://ci.example/badge.svg
   :target: https://ci.example

|pypi| |build|

========
ferrylib
========

.. |pypi| image:: https://pypi.example/badge.svg
.. |build| image:: https://ci.example/build.svg

.. _intro:

Use :func:`ferrylib.sail` or :ref:`the guide <guide>`, see `docs <https://ferry.example>`_ and libferry_.

Usage
-----

Run this::

    ferry --depart 09:15
    # a comment, not a heading

.. code-block:: python
   :linenos:

   import ferrylib

.. note::
   The default timeout is ``30`` seconds.

.. versionadded:: 2.1
   The ``--depart`` flag.

.. toctree::
   :maxdepth: 2

   api

.. A comment
   over two lines.

+------+-------+
| key  | value |
+======+=======+
| port | 8080  |
+------+-------+

Details
~~~~~~~
All await\\ s end here.
"""

HTML = """<html><head><title>Ferry guide</title><style>p {color: red}</style><script>var x = 1;</script></head>
<body><nav>Home | About</nav><h1>Guide</h1><p>Set <code>TIMEOUT</code> to <b>30</b>&nbsp;s.<br>Next &amp; last.</p>
<pre>x = 1
# not a heading
y = 2</pre><ul><li>one</li><li>two</li></ul>
<table><tr><th>key</th><th>value</th></tr><tr><td>port</td><td>8080</td></tr></table>
<img src="badge.svg" alt="build passing"></body></html>"""


def test_markdown_keeps_text_and_code_and_drops_markup() -> None:
    text = documents.clean_markdown(MARKDOWN)
    for gone in ("img", "shields", "badge", "<!--", "comment nobody", "https://ferry.example)", "[docs]", "**", "`",
                 "|---", "```", "logo"):
        assert gone not in text, gone
    assert text.startswith("# ferrylib\n")
    assert "ferrylib is a library for timetables. See https://ferry.example/docs." in text
    assert "## Installation" in text                                  # setext heading
    assert "    # install it\n    pip install ferrylib==2.4" in text  # code kept, indented: not a heading
    assert "Option | Default\n--fast | False" in text                 # the table stays one block
    assert "### 2.4 (2024-05-01)" in text
    assert "Fixed the file bug." in text                              # NFKC: the ligature is letters


def test_rst_keeps_text_and_code_and_drops_directives_roles_and_targets() -> None:
    text = documents.clean_rst(RST)
    for gone in ("image::", "|pypi|", "|build|", ":func:", ":ref:", "<guide>", "https://ferry.example", "_intro",
                 "toctree", "maxdepth", "api", "A comment", ":linenos:", "``", "+------", "libferry_"):
        assert gone not in text, gone
    assert text.startswith("# ferrylib\n")                              # overlined title, level 1
    assert "Use ferrylib.sail or the guide, see docs and libferry." in text
    assert "## Usage" in text and "### Details" in text
    assert "Run this:\n\n    ferry --depart 09:15\n    # a comment, not a heading" in text
    assert "    import ferrylib" in text
    assert "Note:\nThe default timeout is 30 seconds." in text
    assert "New in version 2.1\nThe --depart flag." in text
    assert "key | value\nport | 8080" in text
    assert "All awaits end here." in text


def test_html_keeps_text_and_code_and_drops_scripts_navigation_and_images() -> None:
    text, title = documents.clean_html(HTML)
    assert title == "Ferry guide"
    for gone in ("color", "var x", "Home", "badge", "build passing", "<"):
        assert gone not in text, gone
    assert text.startswith("# Guide\n")
    assert "Set TIMEOUT to 30 s.\nNext & last." in text                 # &nbsp; is a space after NFKC
    assert "    x = 1\n    # not a heading\n    y = 2" in text
    assert "- one\n- two" in text and "key | value\nport | 8080" in text


def test_unicode_is_normalized_as_the_grader_normalizes() -> None:
    raw = "Port \uff18\uff10\uff18\uff10, \ufb01nal\u00a0stop, zero\u200bwidth soft\u00adhyphen\ufeff"
    text = documents.normalize_unicode(raw)
    assert text == "Port 8080, final stop, zerowidth softhyphen"
    assert evaluate.contains_answer(text, ["8080"]) and evaluate.contains_answer(text, ["final stop"])


def test_folder_reads_every_format_with_titles(tmp_path: Path) -> None:
    from tests.test_compare import make_pdf

    (tmp_path / "guide.md").write_text(MARKDOWN, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "manual.rst").write_text(RST, encoding="utf-8")
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("Harbour notes\n\n# not a heading in a .txt? it is kept as text\n",
                                        encoding="utf-8")
    make_pdf(tmp_path / "ferry.pdf", "The \ufb01rst ferry leaves at nine.")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    docs, skipped = documents.read_folder(tmp_path)
    by_id = {d.doc_id: d for d in docs}
    assert sorted(by_id) == ["ferry.pdf", "guide.md", "notes.txt", "page.html", "sub/manual.rst"]
    assert {i: d.title for i, d in by_id.items()} == {"ferry.pdf": "ferry", "guide.md": "ferrylib",
                                                      "notes.txt": "Harbour notes", "page.html": "Ferry guide",
                                                      "sub/manual.rst": "ferrylib"}
    assert "ferry leaves at nine" in by_id["ferry.pdf"].text
    assert [s.path.name for s in skipped] == ["photo.png"]


def test_title_is_not_a_subheading_under_a_logo(tmp_path: Path) -> None:
    text = documents.clean_markdown('<p><img src="logo.svg" /></p>\n\nA library.\n\n## Sponsors\n\nThanks.\n')
    assert documents.title_of(text, tmp_path / "attrs.md") == "attrs"


@pytest.mark.parametrize("name, payload, message", [
    ("badges.md", "[![a](https://x/a.svg)](https://x)\n\n<img src='b.svg'>\n",
     r"badges\.md: no text left once markup is removed"),
    ("only.rst", ".. image:: x.svg\n\n.. toctree::\n\n   api\n", r"only\.rst: no text left once markup is removed"),
    ("latin.rst", "Caf\xe9".encode("latin-1"), r"latin\.rst: not UTF-8 text"),
    ("empty.html", "   \n", r"empty\.html: the file is empty"),
])
def test_files_without_text_are_named(tmp_path: Path, name: str, payload: str | bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(payload if isinstance(payload, bytes) else payload.encode("utf-8"))
    with pytest.raises(DataError, match=message):
        documents.read_folder(tmp_path)


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="documents folder not found"):
        documents.read_folder(tmp_path / "nope")
    with pytest.raises(DataError, match=r"no \.md, \.markdown, \.txt, \.rst, \.html, \.htm, \.pdf files"):
        documents.read_folder(tmp_path)


# ---- chunking by section ---------------------------------------------------------------------------

def doc_of(markdown: str, doc_id: str = "guide.md") -> Document:
    text = documents.clean_markdown(markdown)
    return Document(doc_id, documents.title_of(text, Path(doc_id)), text)


def test_blocks_carry_their_heading_path_and_code_stays_one_block() -> None:
    doc = doc_of("# Lib\n\nIntro.\n\n## Install\n\n```\n# comment\n\npip install lib\n```\n\n"
                 "### From source\n\nClone it.\n\n## Usage\n\n- a\n- b\n")
    blocks = documents.blocks_of(doc)
    assert [(b.path, b.code) for b in blocks] == [(("Lib",), False), (("Lib", "Install"), True),
                                                  (("Lib", "Install", "From source"), False),
                                                  (("Lib", "Usage"), False)]
    assert blocks[1].text == "# comment\n\npip install lib"


def test_fragments_are_merged_up_to_the_size_and_sections_join_under_one_parent() -> None:
    items = "\n\n".join(f"- item {i}" for i in range(6))         # list items separated by blank lines
    doc = doc_of(f"# Lib\n\n## Changelog\n\n### 1.0\n\n{items}\n\n### 1.1\n\nFixed it.\n\n## Usage\n\nRun it.\n")
    merged = documents.section_chunks([doc], size=40, overlap=5)
    # 1.1 joins 1.0 (same parent, Changelog); Usage has another parent and starts a chunk
    assert [c.text for c in merged] == ["Lib > Changelog > 1.0\n" + "\n".join(f"- item {i}" for i in range(6))
                                        + "\n1.1:\nFixed it.", "Lib > Usage\nRun it."]
    strict = documents.section_chunks([doc], size=40, overlap=5, merge_sections=False)
    assert [c.text.split("\n")[0] for c in strict] == ["Lib > Changelog > 1.0", "Lib > Changelog > 1.1", "Lib > Usage"]
    assert strict[0].text.count("- item") == 6, "the six one-line items are one chunk, not six"
    small = documents.section_chunks([doc], size=6, overlap=1)
    assert all(len(c.text.partition("\n")[2].split()) <= 6 + 4 for c in small)


def test_a_block_over_the_size_is_cut_into_overlapping_windows() -> None:
    words = " ".join(f"w{i}" for i in range(50))
    doc = doc_of(f"# Lib\n\n## Long\n\n{words}\n")
    chunks = documents.section_chunks([doc], size=20, overlap=5)
    assert [c.chunk_id for c in chunks] == ["guide.md#0", "guide.md#1", "guide.md#2"]
    assert all(c.text.startswith("Lib > Long\n") for c in chunks)
    assert chunks[1].text.split("\n")[1].split()[0] == "w15"


def test_section_chunking_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="0 <= overlap < size"):
        documents.section_chunks([doc_of("# A\n\nb\n")], size=10, overlap=10)
    with pytest.raises(ValueError, match="empty corpus"):
        documents.section_chunks([], size=10, overlap=1)


def test_chunk_stats_count_per_document_and_describe_sizes() -> None:
    docs = [doc_of("# A\n\none two three\n\n## B\n\n" + " ".join(["x"] * 30) + "\n", "a.md"),
            doc_of("# C\n\nfour five\n", "c.md")]
    chunks = documents.section_chunks(docs, size=20, overlap=2, merge_sections=False)
    stats = documents.chunk_stats(chunks, long_words=15)
    assert stats["per_document"] == {"a.md": 3, "c.md": 1} and stats["n_chunks"] == 4
    assert stats["words"]["min"] == 2 and stats["words"]["max"] == 20 and stats["over_long"] == 1
