"""Benchmark: lexical ORDO linking throughput over real articles, and what building the linker costs.

    .venv/bin/python bench/linking.py [--pmc ../shared/pmc] [--ordo ../shared/ordo/ORDO_en_4.2.owl.gz]
                                      [--repeat 3]

Text is every ``<abstract>`` and ``<body>`` of every XML file under ``--pmc`` (lxml, no DTDs, no
entities, no network), paragraph by paragraph. Two throughputs are reported, in words per second on
one core (whitespace-separated words, best of ``--repeat`` passes):

- ``link_document``: paragraphs handed over as the sentences of a document, as the pipeline does
  with parsed case reports (tokenizer, norms, phrase matchers, abbreviations, context rules);
- ``link_text``: the whole text of each article through the sentencizer as well.

``build_s`` is a first build of the linker (term table extracted from ORDO, matchers built) into an
empty cache; ``reload_s`` a second build that reads the term table from that cache. ORDO itself
is loaded through the store's own cache first and is not part of either figure. Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from lxml import etree

from mmrare.ontology.linking import LINKER_VERSION, Linker, link_document, link_text
from mmrare.ontology.store import load_ordo

SHARED = Path(__file__).resolve().parents[2] / "shared"
_BLOCKS = ("p", "title", "list-item", "td", "th", "caption")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
    )


def article_paragraphs(path: Path) -> list[str]:
    """The paragraphs of the abstracts and body of one JATS file, whitespace-collapsed."""
    root = etree.parse(str(path), _parser()).getroot()
    if root is None:
        return []
    paragraphs: list[str] = []
    for part in root.iter():
        if not isinstance(part.tag, str) or etree.QName(part).localname not in ("abstract", "body"):
            continue
        for block in part.iter():
            if isinstance(block.tag, str) and etree.QName(block).localname == "p":
                text = " ".join("".join(block.itertext()).split())
                if text:
                    paragraphs.append(text)
    return paragraphs


def corpus(pmc_dir: Path) -> list[tuple[str, list[str]]]:
    files = sorted(
        p for p in pmc_dir.rglob("*") if p.suffix in {".xml", ".nxml"} and p.name != "MANIFEST.tsv"
    )
    return [(p.name, article_paragraphs(p)) for p in files]


def _rate(words: int, seconds: float) -> float:
    return round(words / seconds) if seconds > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmc", type=Path, default=SHARED / "pmc")
    parser.add_argument("--ordo", type=Path, default=SHARED / "ordo" / "ORDO_en_4.2.owl.gz")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mmrare-bench-linking-") as tmp:
        index = load_ordo(args.ordo, Path(tmp) / "ordo")
        started = time.perf_counter()
        Linker.build(index, Path(tmp) / "linker")
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        linker = Linker.build(index, Path(tmp) / "linker")
        reload_s = time.perf_counter() - started

    docs = corpus(args.pmc)
    words = sum(len(p.split()) for _name, paragraphs in docs for p in paragraphs)
    sentences = [[(f"p{i}", "other", p) for i, p in enumerate(paragraphs)] for _name, paragraphs in docs]
    texts = ["\n\n".join(paragraphs) for _name, paragraphs in docs]

    link_document(linker, sentences[0])  # warm-up: first-use costs (lexemes, hierarchy memos)
    document_s: list[float] = []
    text_s: list[float] = []
    mentions = 0
    for _ in range(max(args.repeat, 1)):
        started = time.perf_counter()
        mentions = sum(len(link_document(linker, sents)) for sents in sentences)
        document_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for text in texts:
            link_text(linker, text)
        text_s.append(time.perf_counter() - started)

    out: dict[str, Any] = {
        "linker_version": LINKER_VERSION,
        "ordo_version": index.release.version,
        "ordo_sha256": index.release.sha256,
        "n_terms": len(linker.table.terms),
        "n_files": len(docs),
        "n_words": words,
        "n_mentions": mentions,
        "build_s": round(build_s, 3),
        "reload_s": round(reload_s, 3),
        "link_document_s": round(min(document_s), 3),
        "link_document_words_per_s": _rate(words, min(document_s)),
        "link_text_s": round(min(text_s), 3),
        "link_text_words_per_s": _rate(words, min(text_s)),
        "repeat": max(args.repeat, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
