"""Read real documentation for ``python -m helpers.compare``: clean it, and chunk it by section.

Real folders hold project READMEs and manuals: Markdown with badges, HTML and code blocks,
reStructuredText with directives and roles, HTML pages, PDFs. Every file is turned into one plain
"Markdown-lite" text that keeps what a reader needs and drops what carries no content:

* headings become ``#`` lines (Markdown ATX and setext, reST underlined titles, HTML ``<h1>``-``<h6>``);
* code blocks are kept as text, indented four spaces (fenced and indented Markdown code, reST
  ``::`` literal blocks and ``code-block`` directives, HTML ``<pre>``);
* dropped: HTML tags and comments, images and badges, link targets (the link text stays),
  reference definitions, reST comments, hyperlink targets, substitution definitions and their uses
  (``|badge|``), layout directives (``image``, ``toctree``, ``raw``...), directive options, table
  borders; roles keep their text (``:func:`open``` -> ``open``);
* the text is normalized once with Unicode NFKC, as the grader does (``helpers.data.normalize_text``,
  rule 1): ligatures, full-width digits and no-break spaces become their plain forms; invisible
  format characters (zero-width spaces, soft hyphens, byte-order marks) are removed.

:func:`section_chunks` splits such a text by section: each chunk starts with its heading path
("pkg > Installation > From source") and holds whole blocks (paragraphs, lists, tables, code)
merged up to a word budget, so list items and one-line paragraphs are not indexed alone; a block
longer than the budget is cut into overlapping windows. :func:`chunk_stats` describes the result.

Problems raise :class:`helpers.data.DataError` naming the file.
"""
from __future__ import annotations

import html
import html.parser
import re
import statistics
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from . import corpus
from .data import DataError, Document
from .retrieval import Chunk

SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".html", ".htm", ".pdf")
CODE_INDENT = "    "
_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


# --------------------------------------------------------------------------------------------------
# normalization shared by every format

def normalize_unicode(text: str) -> str:
    """NFKC (the grader's first rule), invisible format characters removed (category Cf: zero-width
    spaces, soft hyphens, byte-order marks, direction marks), line endings made ``\\n``, tabs
    expanded to four spaces."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.expandtabs(4)


def _tidy(lines: Sequence[str]) -> str:
    """Join lines, strip trailing spaces, and allow at most one blank line in a row. A blank line
    inside a code block stays :data:`CODE_INDENT`, so the block stays one block."""
    text = "\n".join(line.rstrip() or (CODE_INDENT if line.startswith(CODE_INDENT) else "") for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --------------------------------------------------------------------------------------------------
# Markdown

_MD_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]")
_MD_EMPTY_LINK = re.compile(r"\[\s*\]\([^)]*\)|\[\s*\]\[[^\]]*\]")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_MD_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_HEADING = re.compile(r"^\s*<h([1-6])[^>]*>(.*?)</h\1>\s*$", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+|[\w.+-]+@[\w-]+\.[\w.-]+)>")


def _md_inline(line: str) -> str:
    """One Markdown line without images, link targets, HTML tags, bold markers and backticks."""
    line = _AUTOLINK.sub(r"\1", line)
    line = _MD_IMAGE.sub("", line)
    line = _MD_EMPTY_LINK.sub("", line)
    line = _MD_LINK.sub(lambda m: m.group(1) or m.group(2), line)
    line = re.sub(r"<br\s*/?>", " ", line, flags=re.I)
    line = _HTML_TAG.sub("", line)
    line = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"\1", line)
    line = line.replace("`", "")
    return html.unescape(line)


def clean_markdown(text: str) -> str:
    """Markdown (with embedded HTML) as Markdown-lite (see the module's docstring)."""
    text = _HTML_COMMENT.sub("", normalize_unicode(text))
    # a link whose text runs over a line break loses its target here (line by line, it would not match)
    text = re.sub(r"(?<!!)\[([^\]\n]*\n[^\]]*)\]\([^)\s]*\)", r"\1", text)
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
                out.append("")
            else:
                out.append(CODE_INDENT + line if line.strip() else CODE_INDENT)
            i += 1
            continue
        opened = _MD_FENCE.match(line)
        if opened:
            fence = opened.group(1)
            out.append("")
            i += 1
            continue
        if (line.startswith(CODE_INDENT) and line.strip() and not re.match(r"</?[A-Za-z]", line.strip())
                and (not out or not out[-1].strip() or out[-1].startswith(CODE_INDENT))):
            # an indented code block (after a blank line or more code); an indented HTML tag is
            # markup inside an HTML block, not code
            out.append(line)
            i += 1
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        heading = _HTML_HEADING.match(line)
        if heading:
            out += ["", "#" * int(heading.group(1)) + " " + _md_inline(heading.group(2)).strip(), ""]
        elif _ATX.match(line.strip()) and not line.startswith(CODE_INDENT):
            m = _ATX.match(line.strip())
            assert m is not None
            title = _md_inline(m.group(2)).strip()
            out += ["", f"{m.group(1)} {title}", ""] if title else [""]
        elif (line.strip() and re.match(r"^\s{0,3}(=+|-+)\s*$", nxt) and not _MD_RULE.match(line)
              and not line.lstrip().startswith(("|", "- ", "* ", "+ "))):
            title = _md_inline(line).strip()
            out += ["", ("# " if nxt.strip()[0] == "=" else "## ") + title, ""] if title else [""]
            i += 2
            continue
        elif _MD_TABLE_SEP.match(line) and "-" in line and out and out[-1].count("|"):
            pass                 # a table's header separator: the rows stay one block
        elif _MD_RULE.match(line) or _MD_REF_DEF.match(line):
            out.append("")
        else:
            line = re.sub(r"^\s{0,3}>\s?", "", line)              # block quote marker
            if line.lstrip().startswith("|"):                     # a table row: cells joined by " | "
                line = " | ".join(c.strip() for c in line.strip().strip("|").split("|"))
            out.append(_md_inline(line).strip() if line.strip() else "")
        i += 1
    return _tidy(out)


# --------------------------------------------------------------------------------------------------
# reStructuredText

_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")
_RST_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+(?:\|[^|]+\|\s+)?([\w:.-]+)::\s*(.*)$")
_RST_EXPLICIT = re.compile(r"^(\s*)\.\.(\s|$)")
_RST_FOOTNOTE = re.compile(r"^(\s*)\.\.\s+\[([^\]]+)\]\s+(.*)$")
_RST_SUBST_DEF = re.compile(r"^\s*\.\.\s+\|([^|]+)\|")
_RST_TABLE_BORDER = re.compile(r"^\s*(\+[-=+]+\+|=+(\s+=+)+)\s*$")
# directives whose body is code, is dropped, or is an admonition (kept as text after a label)
RST_CODE = {"code", "code-block", "sourcecode", "doctest", "testcode", "testoutput", "ipython", "parsed-literal"}
RST_DROP = {"image", "figure", "raw", "toctree", "contents", "include", "literalinclude", "meta", "highlight",
            "currentmodule", "module", "py:module", "py:currentmodule", "index", "tabularcolumns", "sectnum",
            "target-notes", "default-role", "role", "title", "autosummary", "automodule", "autoclass",
            "autofunction", "automethod", "autodata", "autoattribute", "autoexception", "only", "ifconfig",
            "testsetup", "testcleanup", "class", "container-end", "spelling:word-list"}
RST_LABELS = {"versionadded": "New in version", "versionchanged": "Changed in version",
              "deprecated": "Deprecated since version", "note": "Note:", "warning": "Warning:", "tip": "Tip:",
              "important": "Important:", "caution": "Caution:", "attention": "Attention:", "danger": "Danger:",
              "error": "Error:", "hint": "Hint:", "seealso": "See also:", "admonition": "", "topic": "",
              "rubric": "", "sidebar": ""}


def _rst_inline(line: str, substitutions: set[str]) -> str:
    """One reST line without roles' markup, link targets, substitution uses and inline markup."""
    line = re.sub(r":[\w:.+-]+:`([^`]*)`", lambda m: re.sub(r"\s*<[^>]*>$", "", m.group(1)).lstrip("~!"), line)
    line = re.sub(r"``(.+?)``", r"\1", line)
    line = re.sub(r"`([^`<]*?)\s*<[^>`]+>`_{1,2}", r"\1", line)
    line = re.sub(r"`([^`]+)`_{1,2}", r"\1", line)
    line = re.sub(r"`([^`]+)`", r"\1", line)
    line = re.sub(r"\b([A-Za-z][\w-]*[A-Za-z0-9])_{1,2}(?=[\s.,;:)!?]|$)", r"\1", line)   # name_ references
    line = re.sub(r"\[(\d+|#\w*|\*)\]_", "", line)                 # footnote references
    line = re.sub(r"\\(.)", r"\1", line.replace("\\ ", ""))       # escapes: "await\\ s" is "awaits"
    for name in substitutions:
        line = re.sub(r"\|" + re.escape(name) + r"\|_{0,2}", "", line)
    line = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"\1", line)
    return html.unescape(line)


def _block_end(lines: Sequence[str], start: int, indent: int) -> int:
    """The index after the indented block that begins at ``start`` (lines indented more than
    ``indent``, and blank lines between them)."""
    end = start
    j = start
    while j < len(lines):
        if lines[j].strip():
            if len(lines[j]) - len(lines[j].lstrip()) <= indent:
                break
            end = j + 1
        j += 1
    return end


def clean_rst(text: str) -> str:
    """reStructuredText as Markdown-lite (see the module's docstring)."""
    # a link whose text runs over a line break: the target goes (line by line, it would not match)
    text = re.sub(r"`([^`]*\n[^`]*?)\s*<[^>`\s]+>`_{1,2}", r"\1", normalize_unicode(text))
    lines = text.split("\n")
    substitutions = {m.group(1) for line in lines if (m := _RST_SUBST_DEF.match(line))}
    styles: list[tuple[str, bool]] = []   # heading adornments in order of appearance = levels
    out: list[str] = []
    i = 0

    def code(body: Sequence[str]) -> None:
        out.append("")
        out.extend(CODE_INDENT + line if line.strip() else CODE_INDENT
                   for line in textwrap.dedent("\n".join(body)).strip("\n").split("\n"))
        out.append("")

    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        # a title: text underlined (and maybe overlined) with one punctuation character
        over = bool(_RST_ADORN.match(line)) and i + 2 < len(lines) and lines[i + 2].strip() == line.strip()
        title_at = i + 1 if over else i
        underline = lines[title_at + 1] if title_at + 1 < len(lines) else ""
        title = lines[title_at].strip() if title_at < len(lines) else ""
        if (title and not _RST_ADORN.match(lines[title_at]) and _RST_ADORN.match(underline)
                and len(underline.strip()) >= len(title) - 1 and indent == 0 or over and title):
            style = (underline.strip()[0], over)
            if style not in styles:
                styles.append(style)
            level = min(styles.index(style) + 1, 6)
            out += ["", "#" * level + " " + _rst_inline(title, substitutions).strip(), ""]
            i = title_at + 2
            continue
        if _RST_TABLE_BORDER.match(line):
            i += 1              # a table border: the rows around it stay one block
            continue
        if _RST_ADORN.match(line):
            out.append("")      # a transition
            i += 1
            continue
        directive = _RST_DIRECTIVE.match(line)
        if directive:
            name, argument = directive.group(2).lower(), directive.group(3).strip()
            end = _block_end(lines, i + 1, indent)
            body = [b for b in lines[i + 1:end]]
            while body and re.match(r"^\s+:[\w -]+:", body[0]):    # directive options
                body.pop(0)
            if name in RST_CODE:
                code(body)
            elif name not in RST_DROP:
                label = RST_LABELS.get(name)
                head = " ".join(p for p in (label if label is not None else "", argument) if p)
                if name in RST_LABELS or name not in RST_LABELS and argument:
                    out += ["", _rst_inline(head, substitutions).strip()] if head else [""]
                inner = textwrap.dedent("\n".join(body)).strip("\n")
                if inner:
                    out += [_rst_inline(b, substitutions).strip() for b in inner.split("\n")]
                out.append("")
            i = max(end, i + 1)
            continue
        footnote = _RST_FOOTNOTE.match(line)
        if footnote:
            out.append(_rst_inline(footnote.group(3), substitutions).strip())
            i += 1
            continue
        if _RST_EXPLICIT.match(line):            # a comment, hyperlink target or substitution definition
            i = max(_block_end(lines, i + 1, indent), i + 1)
            out.append("")
            continue
        if line.rstrip().endswith("::") and (not nxt.strip() or nxt.startswith(" ")):
            stripped = line.strip()[:-2].rstrip()
            if stripped:
                out.append(_rst_inline(stripped + ":", substitutions))
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and len(lines[j]) - len(lines[j].lstrip()) > indent:
                end = _block_end(lines, j, indent)
                code(lines[j:end])
                i = end
            else:
                i += 1
            continue
        for name in substitutions:
            line = re.sub(r"\|" + re.escape(name) + r"\|_{0,2}", "", line)
        if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out.append(" | ".join(_rst_inline(c, substitutions) for c in cells if c))
        else:
            out.append(_rst_inline(line, substitutions).strip() if line.strip() else "")
        i += 1
    return _tidy(out)


# --------------------------------------------------------------------------------------------------
# HTML

class _HtmlText(html.parser.HTMLParser):
    """Collects an HTML page's text as Markdown-lite lines."""

    SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "button", "select"}
    BLOCK = {"p", "div", "section", "article", "main", "header", "footer", "ul", "ol", "li", "table", "tr",
             "blockquote", "dl", "dt", "dd", "hr", "br", "figure", "figcaption", "aside", "form", "details",
             "summary", "caption", "thead", "tbody"}

    LINE = {"tr", "br", "dt", "dd", "li"}   # elements that start a line, not a paragraph

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.pre = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
            self.parts.append("\n\n\x00PRE\x00")
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self.BLOCK:
            self.parts.append("\n" if tag in self.LINE else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\x00/PRE\x00\n\n")
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCK and tag not in self.LINE:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self.skip:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def clean_html(text: str) -> tuple[str, str]:
    """An HTML page as Markdown-lite, and its ``<title>`` ("" if none)."""
    parser = _HtmlText()
    parser.feed(normalize_unicode(text))
    parser.close()
    raw = "".join(parser.parts)
    out: list[str] = []
    for n, piece in enumerate(re.split(r"\x00/?PRE\x00", raw)):
        if n % 2:       # inside <pre>: code
            out.append("")
            out.extend(CODE_INDENT + line if line.strip() else CODE_INDENT for line in piece.strip("\n").split("\n"))
            out.append("")
        else:
            for line in piece.split("\n"):
                line = line.strip()
                if line.startswith("|"):
                    line = " | ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
                out.append(line)
    return _tidy(out), " ".join(parser.title.split())


# --------------------------------------------------------------------------------------------------
# reading a folder

def clean_file(path: Path) -> tuple[str, str | None]:
    """The cleaned text of one file and its title when the format says it (HTML ``<title>``).
    Raises :class:`DataError` naming the file when it cannot be read or holds no text."""
    suffix = path.suffix.lower()
    title: str | None = None
    if suffix == ".pdf":
        text = normalize_unicode(corpus.pdf_text(path))
        text = _tidy([line.strip() for line in text.split("\n")])
    else:
        raw = corpus.plain_text(path)
        if suffix in (".md", ".markdown"):
            text = clean_markdown(raw)
        elif suffix == ".rst":
            text = clean_rst(raw)
        elif suffix in (".html", ".htm"):
            text, title = clean_html(raw)
            title = title or None
        else:
            text = _tidy([line.rstrip() for line in normalize_unicode(raw).split("\n")])
    body = "\n".join(line for line in text.split("\n") if not _ATX.match(line))
    if not body.strip():
        raise DataError(path, "no text left once markup is removed (only headings, images, links or "
                              "directives); remove the file or add its text")
    return text, title


def title_of(text: str, path: Path) -> str:
    """A cleaned text's title: its first line when that is a heading or short (at most 80
    characters, no final period); else its first level-1 heading; else the file name without
    suffix (a "## Sponsors" under a logo is no title)."""
    lines = [line for line in text.split("\n") if line.strip()]
    first = _ATX.match(lines[0]) if lines else None
    if first and first.group(2).strip():
        return first.group(2).strip()
    if lines and len(lines[0]) <= 80 and not lines[0].rstrip().endswith(".") and not lines[0].startswith(" "):
        return lines[0].strip()
    for line in lines:
        m = _ATX.match(line)
        if m and len(m.group(1)) == 1 and m.group(2).strip():
            return m.group(2).strip()
    return path.stem.replace("-", " ").replace("_", " ")


def read_folder(folder: Path | str) -> tuple[list[Document], list[corpus.Skipped]]:
    """Every supported file under ``folder`` (:data:`SUFFIXES`, subfolders included, hidden files
    ignored) as a cleaned :class:`Document` sorted by path, and the files not read (other types).
    A document's id is its path inside ``folder``; its text is Markdown-lite (module docstring).

    Raises :class:`DataError` for a missing folder, a folder with no readable document, a file that
    is not UTF-8 text, a PDF without extractable text, or a file with no text left after cleaning.
    """
    docs: list[Document] = []
    files, skipped = corpus.supported_files(folder, SUFFIXES)
    for path, rel in files:
        suffix = path.suffix.lower()
        text, title = clean_file(path)
        if title is None:
            title = title_of(text, path) if suffix != ".pdf" else path.stem.replace("-", " ").replace("_", " ")
        docs.append(Document(doc_id=rel.as_posix(), title=title, text=text))
    if not docs:
        raise DataError(folder, f"no {', '.join(SUFFIXES)} files in the documents folder")
    return docs, skipped


# --------------------------------------------------------------------------------------------------
# chunking by section

@dataclass(frozen=True)
class Block:
    """A paragraph, list, table or code block of a cleaned text, with its heading path."""

    path: tuple[str, ...]
    text: str
    code: bool

    @property
    def words(self) -> int:
        return len(self.text.split())


def blocks_of(doc: Document) -> list[Block]:
    """The blocks of a cleaned document in order. The heading path starts with the document's title
    (not repeated when the first heading is the title); headings themselves are not blocks."""
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    current: list[str] = []
    in_code = False

    def path() -> tuple[str, ...]:
        titles = [t for _, t in stack]
        return tuple(titles if titles and titles[0] == doc.title else [doc.title, *titles])

    def flush() -> None:
        text = "\n".join(current).strip("\n")
        if text.strip():
            blocks.append(Block(path(), textwrap.dedent(text) if in_code else text, in_code))
        current.clear()

    for line in doc.text.split("\n"):
        heading = _ATX.match(line)
        if heading and not line.startswith(" "):
            flush()
            level = len(heading.group(1))
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, heading.group(2).strip())]
            continue
        code_line = line.startswith(CODE_INDENT)
        if not line.strip() and not (in_code and line.startswith(CODE_INDENT)):
            flush()
            in_code = False
            continue
        if code_line != in_code:
            flush()
            in_code = code_line
        current.append(line)
    flush()
    return blocks


def _windows(words: Sequence[str], size: int, overlap: int) -> list[str]:
    step = size - overlap
    return [" ".join(words[i:i + size]) for i in range(0, max(len(words) - overlap, 1), step)]


def section_chunks(docs: Sequence[Document], size: int = 120, overlap: int = 20,
                   merge_sections: bool = True) -> list[Chunk]:
    """Chunks that follow each document's sections (see the module docstring).

    Blocks of one section are merged while the chunk's body stays within ``size`` words; with
    ``merge_sections``, a short section also joins the chunk before it when both sit under the same
    parent heading (its own heading is written inside the chunk), so a run of two-line sections
    (a changelog, an FAQ) does not become a run of fragments. A block over ``size`` words is cut
    into ``size``-word windows overlapping by ``overlap`` words. Each chunk's text is its heading
    path (``A > B > C``) on the first line, then the body.
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size}, overlap={overlap}")
    if not docs:
        raise ValueError("empty corpus: no documents to chunk")
    chunks: list[Chunk] = []
    for doc in docs:
        for n, (path, text) in enumerate(_section_pieces(doc, size, overlap, merge_sections)):
            chunks.append(Chunk(chunk_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, title=doc.title,
                                text=f"{' > '.join(path)}\n{text}"))
    return chunks


def _section_pieces(doc: Document, size: int, overlap: int,
                    merge_sections: bool) -> list[tuple[tuple[str, ...], str]]:
    """``(heading path, body)`` of each chunk of one document (:func:`section_chunks`)."""
    pieces: list[tuple[tuple[str, ...], str]] = []
    base: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    body: list[str] = []
    words = 0
    for block in blocks_of(doc):
        if block.words > size:
            if body:
                pieces.append((base, "\n".join(body)))
            body, words = [], 0
            pieces += [(block.path, w) for w in _windows(block.text.split(), size, overlap)]
            continue
        fits = bool(body) and words + block.words <= size
        same = block.path == last
        sibling = merge_sections and block.path[:len(base) - 1] == base[:-1]
        if not (fits and (same or sibling)):
            if body:
                pieces.append((base, "\n".join(body)))
            base, last, body, words = block.path, block.path, [], 0
        elif not same:
            common = 0
            while common < min(len(base), len(block.path)) and base[common] == block.path[common]:
                common += 1
            body.append(" > ".join(block.path[max(common, 1):] or block.path[-1:]) + ":")
            last = block.path
        body.append(block.text)
        words += block.words
    if body:
        pieces.append((base, "\n".join(body)))
    return pieces


def chunk_stats(chunks: Sequence[Chunk], long_words: int) -> dict[str, Any]:
    """Chunks per document and the distribution of chunk sizes in words (title line excluded):
    min, 10th percentile, median, 90th percentile, max, and how many exceed ``long_words``."""
    if not chunks:
        raise ValueError("no chunks to describe")
    sizes = sorted(len(c.text.partition("\n")[2].split()) for c in chunks)
    per_doc: dict[str, int] = {}
    for c in chunks:
        per_doc[c.doc_id] = per_doc.get(c.doc_id, 0) + 1

    def pct(q: float) -> int:
        return sizes[min(len(sizes) - 1, int(q * (len(sizes) - 1) + 0.5))]

    return {"n_chunks": len(chunks), "per_document": per_doc,
            "words": {"min": sizes[0], "p10": pct(0.1), "median": statistics.median(sizes), "p90": pct(0.9),
                      "max": sizes[-1], "mean": round(sum(sizes) / len(sizes), 1)},
            "over_long": sum(s > long_words for s in sizes), "long_words": long_words}
