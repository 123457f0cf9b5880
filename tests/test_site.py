"""The website (`make site`): it builds from the stored notebooks, and every page works in a browser.

The build runs Sphinx as `make site` does, from scratch, with warnings counted as failures (a build of
this test's is reused while no input changed). Then headless Chromium (Debian's `chromium` package, driven by
the `playwright` package; no browser is downloaded) opens every page and checks: it has a title and a
heading, every image loaded and every figure has alt text, every internal link leads to a built file (and its
#anchor exists), nothing was fetched from the network, and the console shows no errors. One screenshot is saved to
.cache/site-screenshot.png. Without /usr/bin/chromium the browser test is skipped, with that reason.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITE = DOCS / "_build" / "html"
CHROMIUM = Path(os.environ.get("RAGFT_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT = ROOT / ".cache" / "site-screenshot.png"
# the same command as `make site` (see the Makefile), plus: warnings are failures, written to a file
SPHINX = [sys.executable, "-m", "sphinx", "-b", "html", "-c", "docs", "-d", "docs/_build/doctrees", "--keep-going", "-q"]
# as root on a CI machine: no sandbox, no GPU, and nothing that phones home
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _inputs() -> list[Path]:
    """Everything the site is built from."""
    files = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(DOCS.glob("*.md"))
    files += [DOCS / "conf.py", DOCS / "requirements.txt", *DOCS.glob("_ext/*.py"), *DOCS.glob("_extra/*")]
    return files


def _notebook_pages() -> list[str]:
    return [f"notebooks/{p.stem}.html" for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def _report(capsys, text: str) -> None:
    """A line for the terminal even when pytest captures output (timings, the screenshot's path)."""
    with capsys.disabled():
        print(f"\n[site] {text}")


BUILD_NOTE: list[str] = []       # how the site fixture got the site, for the report line


def _fingerprint() -> str:
    """The inputs' contents and the site packages' versions: what a clean build depends on."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("sphinx", "myst-nb", "sphinx-book-theme", "pydata-sphinx-theme"):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def site() -> Path:
    """The site, built from scratch (-E) with no warnings allowed. A build this test made is reused while
    no input changed and nothing (such as `make site`) wrote to the site since; RAGFT_SITE_REBUILD=1
    forces a new build."""
    pytest.importorskip("myst_nb", reason="the site's packages are not installed: run `make site` "
                                          "(installs docs/requirements.txt into .venv)")
    pytest.importorskip("sphinx_book_theme", reason="sphinx-book-theme is not installed: run `make site`")
    marker, buildinfo = SITE.parent / "site-test.ok", SITE / ".buildinfo"
    fingerprint = _fingerprint()
    if (marker.exists() and buildinfo.exists() and marker.read_text() == fingerprint
            and buildinfo.stat().st_mtime <= marker.stat().st_mtime and not os.environ.get("RAGFT_SITE_REBUILD")):
        BUILD_NOTE.append("reused the site this test built last time (no input changed since)")
        return SITE
    marker.unlink(missing_ok=True)
    warnings = SITE.parent / "warnings.txt"
    warnings.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    done = subprocess.run([*SPHINX, "-E", "-w", str(warnings), ".", str(SITE)], cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, f"the site did not build:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    text = warnings.read_text() if warnings.exists() else ""
    assert not text.strip(), f"the site built with warnings (`make site` shows them too):\n{text[-4000:]}"
    marker.write_text(fingerprint)
    BUILD_NOTE.append(f"built docs/_build/html from scratch in {seconds:.1f} s")
    return SITE


def test_site_builds_every_notebook(site, capsys):
    _report(capsys, BUILD_NOTE[-1])
    assert (site / "index.html").exists() and (site / "docs" / "index.html").exists()
    pages = _notebook_pages()
    assert pages, "no notebooks found"
    for page in pages:
        html = (site / page).read_text(encoding="utf-8")
        assert 'class="cell docutils container"' in html, f"{page}: no code cells rendered"
        assert "NBVAL_" not in "".join(re.findall(r'<div class="cell_input.*?</div>\s*</div>', html, re.S)), \
            f"{page}: a `# NBVAL_...` line is shown in the code"
    landing = (site / "docs" / "index.html").read_text(encoding="utf-8")
    for page in pages:
        assert f'href="../{page}"' in landing, f"the landing page does not link to {page}"
    folded = sum((site / p).read_text(encoding="utf-8").count("hide above-input") for p in pages)
    assert folded > 0, "no check cell was folded (hide-input)"


def _internal_target(url: str) -> tuple[Path, str] | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    path = Path(unquote(parts.path))
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(parts.fragment)


def _ids(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        html = path.read_text(encoding="utf-8", errors="replace") if path.suffix == ".html" else ""
        cache[path] = set(re.findall(r'\b(?:id|name)="([^"]+)"', html))
    return cache[path]


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's chromium package "
                                                  "(apt-get install chromium; .ci/run does) to run the browser test")
def test_every_page_in_chromium(site, capsys, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run `make site`")
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    start = time.perf_counter()
    problems: list[str] = []
    ids_cache: dict = {}
    n_images = n_links = 0
    with playwright.sync_playwright() as pw:
        # playwright starts the browser with a fresh, temporary profile (its own --user-data-dir)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 950}, service_workers="block")
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda m: messages.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: messages.append(f"script error: {e}"))
        page.on("requestfailed", lambda r: messages.append(f"failed to load {r.url} ({r.failure})"))
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:", "about:"))
                else messages.append(f"fetched from the network: {r.url}"))
        context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
        for path in pages:
            name = path.relative_to(site).as_posix()
            messages.clear()
            page.goto(path.as_uri(), wait_until="load")
            if name == "index.html":              # the forwarding page: it must land on the landing page
                page.wait_for_url(re.compile(r"/docs/index\.html$"), timeout=10_000)
            title = page.title().strip()
            if not title or title.startswith("<no title>"):
                problems.append(f"{name}: no title")
            if name != "index.html" and not page.eval_on_selector_all("h1", "els => els.some(e => e.innerText.trim())"):
                problems.append(f"{name}: no heading")
            # lazy images: scroll through the page so every image is requested, then wait for them
            page.evaluate("""async () => {
                for (const img of document.images) { img.loading = 'eager'; }
                await Promise.all([...document.images].map(img => img.complete ? null :
                    new Promise(done => { img.onload = img.onerror = done; })));
            }""")
            for src, width in page.eval_on_selector_all("img", "els => els.map(e => [e.currentSrc || e.src, e.naturalWidth])"):
                n_images += 1
                if not width:
                    problems.append(f"{name}: image did not load: {src}")
            for src in page.eval_on_selector_all("div.cell_output img", "els => els.filter(e => !(e.alt || '').trim())"
                                                 ".map(e => e.currentSrc || e.src)"):
                problems.append(f"{name}: a figure without alt text: {src}")
            for href in set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")):
                target = _internal_target(href)
                if target is None:
                    continue
                n_links += 1
                file, fragment = target
                if not file.is_file():
                    problems.append(f"{name}: link to a file that was not built: {href}")
                elif fragment and fragment not in _ids(file, ids_cache):
                    problems.append(f"{name}: link to a missing anchor: {href}")
            if name.startswith("notebooks/"):
                if page.locator(".bd-sidebar-primary nav a").count() < len(_notebook_pages()):
                    problems.append(f"{name}: the contents sidebar does not list the series")
                if page.locator(".prev-next-area a").count() == 0:
                    problems.append(f"{name}: no previous/next links")
            problems += [f"{name}: {m}" for m in messages]
        # the series in order in the sidebar, and search finds a word of the notebooks
        page.goto((site / "docs" / "index.html").as_uri())
        hrefs = page.eval_on_selector_all(".bd-sidebar-primary nav a", "els => els.map(e => e.getAttribute('href'))")
        in_sidebar = [h.split("/")[-1] for h in hrefs if "notebooks/" in h]
        expected = [p.split("/")[-1] for p in _notebook_pages()]
        if in_sidebar != expected:
            problems.append(f"sidebar order {in_sidebar} is not the series order {expected}")
        page.goto((site / "search.html").as_uri() + "?q=LoRA")
        try:
            page.wait_for_selector("#search-results li", timeout=15_000)
        except playwright.TimeoutError:
            problems.append("search.html?q=LoRA found nothing")
        # the screenshot: the first notebook page with a figure, scrolled to it (sidebar, code, plot)
        for name in _notebook_pages():
            page.goto((site / name).as_uri())
            figure = page.locator("div.cell_output img").first
            if figure.count():
                figure.scroll_into_view_if_needed()
                page.evaluate("window.scrollBy(0, -250)")
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
                break
        browser.close()
    seconds = time.perf_counter() - start
    _report(capsys, f"{len(pages)} pages, {n_images} images, {n_links} internal "
                    f"links checked in Chromium in {seconds:.1f} s; screenshot: {SCREENSHOT}")
    assert n_images > 0, "no image on any page"
    assert not problems, "\n".join(problems)


def _evidence():
    import importlib.util

    spec = importlib.util.spec_from_file_location("evidence", DOCS / "_ext" / "evidence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source, folded", [
    ('assert env["device"] in {"cpu", "cuda"}\nassert threads >= 1\nprint("environment OK")', True),
    ('if name == "smollm2":\n    assert n == 134_515_008, n\nprint("generator ready")', True),
    ('# NBVAL_IGNORE_OUTPUT\nclaims_2x2 = [claims.Claim("a", "higher", "supported", key="k")]\nfamily.check(claims_2x2)', True),
    ('for d in diffs:\n    assert d.real\nx = 1\nprint(x)', True),
    # mostly data shown with print, one assert: the reader needs the code
    ('rows = load()\nprint(rows[0])\nprint(len(rows))\nprint(rows[-1])\nassert all(r.ok for r in rows)', False),
    # an experiment with an assert at the end
    ('a = f()\nb = g(a)\nc = h(b)\nassert c > 0', False),
    # a figure keeps its code, asserts or not
    ('assert x > 0\nassert y > 0\nfig, ax = plt.subplots()\nax.plot([1, 2])', False),
    ('%matplotlib inline\nassert x', True),
    ('not python (', False),
])
def test_which_cells_are_folded(source, folded):
    assert _evidence().is_check_cell(source) is folded


def test_prepare_tags_and_strips_without_touching_other_tags():
    import nbformat

    evidence = _evidence()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nassert x\nprint(x)"),
        nbformat.v4.new_code_cell("assert x", metadata={"tags": ["show-input"]}),
        nbformat.v4.new_code_cell("assert x", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("\n# NBVAL_SKIP\nfig, ax = plt.subplots()\n# NBVAL_IGNORE_OUTPUT stays: not at the top"),
        nbformat.v4.new_markdown_cell("# NBVAL_IGNORE_OUTPUT in prose stays"),
    ])
    cells = evidence.prepare(nb).cells
    assert cells[0].metadata["tags"] == ["hide-input"] and cells[0].source == "assert x\nprint(x)"
    assert cells[1].metadata["tags"] == ["show-input"]
    assert cells[2].metadata["tags"] == ["remove-cell"]
    assert "tags" not in cells[3].metadata
    assert cells[3].source == "fig, ax = plt.subplots()\n# NBVAL_IGNORE_OUTPUT stays: not at the top"
    assert cells[4].source == "# NBVAL_IGNORE_OUTPUT in prose stays"


def test_every_figure_has_a_caption_that_becomes_its_alt_text():
    """Each figure of each notebook is followed by a one-line italic caption, and the site's reader turns
    it into the image's alt text (checked in the browser too)."""
    import nbformat

    evidence = _evidence()
    missing = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        captions = evidence.figure_captions(nb)
        assert captions or path.name.startswith("10"), f"{path.name}: no figure found"
        missing += [f"{path.name}: cell {i}" for i, caption in captions.items() if not caption]
        evidence.prepare(nb)
        for i, caption in captions.items():
            assert not caption or nb.cells[i].metadata["mystnb"]["image"]["alt"] == caption
    assert not missing, "figures without a caption (an italic line opening the next markdown cell): " + ", ".join(missing)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("plt.show()", outputs=[nbformat.v4.new_output("display_data", {"image/png": "AA=="})]),
        nbformat.v4.new_markdown_cell("*Bars: share `correct`,\nwith intervals.*\n\nMore text."),
        nbformat.v4.new_code_cell("plt.show()", outputs=[nbformat.v4.new_output("display_data", {"image/png": "AA=="})]),
        nbformat.v4.new_markdown_cell("**Bold is not a caption.**"),
    ])
    assert evidence.figure_captions(nb) == {0: "Bars: share correct, with intervals.", 2: None}
