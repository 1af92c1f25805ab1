r"""Cheap, exact shortcuts for regexes that match at a word start: ``\bword...``.

The drafter scans every sentence of every case with ~300 vocabulary patterns and counts ~200 body-
system cue words in every item's context. Almost all of these patterns begin with ``\b`` and a literal
word prefix ("\bangiograph", "\b(?-i:CT)\b"), so a text can only match if one of its words starts with
that prefix. Looking words up in a table costs a few dictionary probes per word, instead of one regex
call per pattern per text, and words repeat across sentences so each is looked up only once.

Nothing here changes a result: :func:`word_anchors` only ever answers "this text cannot match" when
the regex truly cannot match (anything it cannot prove gets ``None``, i.e. "always try the regex"),
and :class:`CueCounter` returns the same counts as ``len(re.compile(r"\b" + cue, re.I).findall(text))``,
falling back to exactly that for any cue that is not a plain lowercase word or phrase.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

WORD = re.compile(r"\w+")  # a word start of \b in a str pattern is exactly the start of one of these
_LITERAL = re.compile(r"[A-Za-z0-9]+")
_QUANTIFIERS = "?*+{"
_LOOKAROUNDS = ("(?<!", "(?<=", "(?=", "(?!")
# An inline flag group ("(?-i:", "(?s:", "(?i)"): only VERBOSE changes how the source reads.
_FLAGS = re.compile(r"\(\?[aiLmsux]*(?:-[imsx]+)?[:)]")
_MEMO_MAX = 1 << 18
_TEXT_MEMO_MAX = 1 << 14  # whole sentences: enough for the cases drafted at once


# ----------------------------------------------------------------------------- reading patterns


def _class_end(pattern: str, start: int) -> int:
    """Index just past the character class opened at ``start`` (-1 when unterminated)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":  # a leading "]" is a literal
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return -1


def _syntax(pattern: str, start: int = 0) -> list[tuple[int, str]] | None:
    """Position and character of each ``(``, ``)`` and ``|`` from ``start`` on that is syntax (not
    escaped, not in a character class); None when a class is unterminated."""
    found, i = [], start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            if i < 0:
                return None
            continue
        if char in "()|":
            found.append((i, char))
        i += 1
    return found


def _group_end(pattern: str, start: int) -> int:
    """Index just past the ``)`` closing the group opened at ``start`` (-1 when unbalanced)."""
    depth = 0
    for i, char in _syntax(pattern, start) or ():
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _alternatives(pattern: str) -> list[str] | None:
    """``pattern`` split at its top-level ``|`` (None when it does not parse)."""
    syntax = _syntax(pattern)
    if syntax is None:
        return None
    parts, depth, last = [], 0, 0
    for i, char in syntax:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            parts.append(pattern[last:i])
            last = i + 1
    return None if depth else [*parts, pattern[last:]]


def _skip_assertions(pattern: str, pos: int) -> tuple[int, bool]:
    r"""Past the zero-width ``\b`` and lookarounds at ``pos``; whether a ``\b`` was among them.

    Dropping an assertion only lets a pattern match more, so what follows still bounds the match."""
    bounded = False
    while True:
        if pattern.startswith("\\b", pos):
            pos, bounded = pos + 2, True
        elif pattern.startswith(_LOOKAROUNDS, pos):
            end = _group_end(pattern, pos)
            if end < 0:
                return pos, bounded
            pos = end
        else:
            return pos, bounded


def _group_body(pattern: str, start: int, end: int) -> str | None:
    """The inside of the group ``pattern[start:end]`` when it is a plain, flag or capturing group."""
    if pattern.startswith("(?P<", start):
        close = pattern.find(">", start)
        return pattern[close + 1 : end - 1] if 0 < close < end else None
    flags = _FLAGS.match(pattern, start)
    if flags is not None:
        if "x" in flags.group() or flags.group().endswith(")"):
            return None
        return pattern[flags.end() : end - 1]
    if pattern.startswith("(?", start):
        return None  # lookarounds here, comments, conditionals, ...
    return pattern[start + 1 : end - 1]


def _head(pattern: str, pos: int) -> frozenset[str] | None:
    """Lowercase literal prefixes, one of which every match of ``pattern[pos:]`` starts with."""
    if pos < len(pattern) and pattern[pos] == "(":
        end = _group_end(pattern, pos)
        body = None if end < 0 else _group_body(pattern, pos, end)
        alternatives = None if body is None else _alternatives(body)
        if not alternatives:
            return None
        found: set[str] = set()
        for alternative in alternatives:
            heads = _head(alternative, _skip_assertions(alternative, 0)[0])
            if heads is None:
                return None
            found |= heads
        quantifier = pattern[end : end + 1]
        if quantifier in ("?", "*"):  # "(?:ileo)?colonoscop": the group's words or what follows
            rest = _head(pattern, end + 2 if pattern[end + 1 : end + 2] in ("?", "+") else end + 1)
            return None if rest is None else frozenset(found | rest)
        if quantifier and quantifier in _QUANTIFIERS:
            return None  # "{0,2}" and the like: not worth reading
        return frozenset(found)
    literal = _LITERAL.match(pattern, pos)
    if literal is None:
        return None
    run = literal.group()
    if pattern[literal.end() : literal.end() + 1] in tuple(_QUANTIFIERS):
        run = run[:-1]  # "colitis?" only promises "coliti"
    return frozenset({run.lower()}) if run else None


def word_anchors(pattern: str) -> frozenset[str] | None:
    r"""Lowercase literal prefixes, one of which starts a word wherever ``pattern`` matches.

    For a pattern compiled with ``re.IGNORECASE`` (and not VERBOSE) whose every top-level branch
    begins with ``\b`` (lookarounds allowed) and a literal or a group of literal alternatives:
    ``'(?<![-/])\b(?-i:CT)\b'`` -> {"ct"}, ``'\b(?:brain|head)\s+MRI'`` -> {"brain", "head"}. A text
    none of whose words starts with one of them cannot match. None when that cannot be shown from
    the source (the caller then always runs the regex).
    """
    if re.search(r"\(\?[a-zA-Z-]*x", pattern):
        return None
    branches = _alternatives(pattern)
    if not branches:
        return None
    found: set[str] = set()
    for branch in branches:
        pos, bounded = _skip_assertions(branch, 0)
        if not bounded and re.match(r"\\[^\w\s]", branch[pos : pos + 2]):
            pos, bounded = pos + 2, True  # "\((?-i:US)\)": a word right after "(" starts there
        heads = _head(branch, pos) if bounded else None
        if heads is None:
            return None
        found |= heads
    return frozenset(found)


def either(patterns: Sequence[str], flags: int) -> re.Pattern[str] | None:
    """One regex whose match is the earliest match of any of ``patterns``, ties to the first listed.

    At each position an alternation tries its branches in order, and a branch matches there exactly
    as its own pattern would; so its first match is ``min(matches, key=start)`` over the patterns'
    own searches (``min`` keeps the first of equal starts). None when the patterns use anything that
    would mean something else once joined (group numbers, named groups, global flags).
    """
    if any(re.search(r"\\[1-9]|\(\?P[<=]|\(\?\(|\(\?[aiLmsux]+\)", p) for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), flags)
    except re.error:
        return None


# ----------------------------------------------------------------------------- word tables


def _starts_with(word: str, prefix: str, pattern: re.Pattern[str]) -> bool:
    """Whether the regex ``pattern`` (IGNORECASE ``prefix``) matches at the start of ``word``.

    ASCII words compare lowercased (ASCII case-insensitivity is exactly that); any other word asks
    the regex, since Unicode case rules let e.g. "ſ" match "s"."""
    if word.isascii():
        return word[: len(prefix)].lower() == prefix
    return pattern.match(word) is not None


class PrefixTable:
    """Which items a word can belong to, from each item's literal word prefixes.

    ``anchors[i]`` is item ``i``'s set of prefixes (lowercase ASCII word characters), or None for an
    item that must always be tried. :meth:`candidates` gives, in item order, every item whose
    prefix starts some word of the text (a superset of the items whose regex matches it).
    """

    def __init__(self, anchors: Sequence[frozenset[str] | None]) -> None:
        # sets of items are bit masks (bit i: item i): OR-ing ints is the cheapest union there is
        self._always = sum(1 << i for i, a in enumerate(anchors) if a is None)
        self._by_prefix: dict[str, int] = {}
        for i, prefixes in enumerate(anchors):
            for prefix in prefixes or ():
                if not _LITERAL.fullmatch(prefix) or prefix != prefix.lower():
                    raise ValueError(f"not a lowercase literal word prefix: {prefix!r}")
                self._by_prefix[prefix] = self._by_prefix.get(prefix, 0) | 1 << i
        self._lengths = sorted({len(p) for p in self._by_prefix})
        self._regexes = {p: re.compile(re.escape(p), re.IGNORECASE) for p in self._by_prefix}
        self._words: dict[str, int] = {}

    @property
    def always(self) -> list[int]:
        """Items without prefixes: tried on every text."""
        return _bits(self._always)

    def _word(self, word: str) -> int:
        hits = 0
        if word.isascii():
            low = word.lower()
            for length in self._lengths:
                if length > len(low):
                    break
                hits |= self._by_prefix.get(low[:length], 0)
        else:
            for prefix, items in self._by_prefix.items():
                if _starts_with(word, prefix, self._regexes[prefix]):
                    hits |= items
        if len(self._words) >= _MEMO_MAX:
            self._words.clear()
        self._words[word] = hits
        return hits

    def candidates(self, text: str) -> list[int]:
        """Items that may match ``text``, in item order."""
        found = self._always
        words = self._words
        for word in set(WORD.findall(text)):
            hits = words.get(word, -1)
            found |= self._word(word) if hits < 0 else hits
        return _bits(found)


def _bits(mask: int) -> list[int]:
    """Positions of the set bits of ``mask``, lowest first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


class CueCounter:
    r"""Per group, how many times ``\b<cue>`` (case-insensitive) matches a text, summed over cues.

    Exactly ``sum(len(re.compile(r"\b" + cue, re.I).findall(text)) for cue in cues)`` per group,
    with zero groups left out, in group order. A one-word cue (lowercase ASCII letters and digits)
    matches once per word it starts, so it is counted from a per-word table; a phrase ("weight loss")
    is counted by its regex, but only in texts with a word equal to its first word; any other cue
    is always counted by its regex.

    Item contexts are runs of a case's sentences, and a case's items share most of them: so
    :meth:`count_joined` counts the one-word cues of each sentence once (a memo of per-text tallies)
    and adds them up, which joining texts with a space allows (it neither makes nor splits a word).
    """

    def __init__(self, groups: Mapping[str, Sequence[str]]) -> None:
        self.names = tuple(groups)
        self._single: dict[str, list[int]] = {}
        self._phrases: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        self._others: list[tuple[int, re.Pattern[str]]] = []
        for g, cues in enumerate(groups.values()):
            for cue in cues:
                pattern = re.compile(r"\b" + cue, re.IGNORECASE)
                if re.fullmatch(r"[a-z0-9]+", cue):
                    self._single.setdefault(cue, []).append(g)
                elif re.fullmatch(r"[a-z0-9]+(?: [a-z0-9]+)+", cue):
                    self._phrases.setdefault(cue.split(" ", 1)[0], []).append((g, pattern))
                else:
                    self._others.append((g, pattern))
        self._lengths = sorted({len(c) for c in self._single})
        self._single_regex = {c: re.compile(r"\b" + c, re.IGNORECASE) for c in self._single}
        self._first_regex = {w: re.compile(re.escape(w), re.IGNORECASE) for w in self._phrases}
        self._words: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._texts: dict[str, tuple[tuple[tuple[int, int], ...], frozenset[str]]] = {}

    def _word(self, word: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The groups of the one-word cues ``word`` starts with (once per cue), and the phrases'
        first words it equals."""
        found = self._words.get(word)
        if found is None:
            groups: list[int] = []
            if word.isascii():
                low = word.lower()
                for length in self._lengths:
                    if length > len(low):
                        break
                    groups += self._single.get(low[:length], ())
                firsts = (low,) if low in self._phrases else ()
            else:
                for cue, cue_groups in self._single.items():
                    if self._single_regex[cue].match(word):
                        groups += cue_groups
                firsts = tuple(w for w, p in self._first_regex.items() if p.fullmatch(word))
            found = (tuple(groups), firsts)
            if len(self._words) >= _MEMO_MAX:
                self._words.clear()
            self._words[word] = found
        return found

    def _tally(self, text: str) -> tuple[tuple[tuple[int, int], ...], frozenset[str]]:
        """(group, matches) of the one-word cues in ``text``, groups without any left out, and the
        phrases' first words among its words; memoised for the texts of the cases being drafted."""
        found = self._texts.get(text)
        if found is None:
            counts = [0] * len(self.names)
            firsts: set[str] = set()
            for word, times in Counter(WORD.findall(text)).items():
                groups, word_firsts = self._word(word)
                for g in groups:
                    counts[g] += times
                firsts.update(word_firsts)
            found = (tuple((g, n) for g, n in enumerate(counts) if n), frozenset(firsts))
            if len(self._texts) >= _TEXT_MEMO_MAX:
                self._texts.clear()
            self._texts[text] = found
        return found

    def count(self, text: str) -> dict[str, int]:
        return self.count_joined((text,))

    def count_joined(self, texts: Sequence[str]) -> dict[str, int]:
        """:meth:`count` of ``" ".join(texts)``."""
        counts = [0] * len(self.names)
        firsts: set[str] = set()
        for text in texts:
            tally, text_firsts = self._tally(text)
            for g, n in tally:
                counts[g] += n
            firsts |= text_firsts
        if firsts or self._others:
            joined = " ".join(texts)
            for first in firsts:
                for g, pattern in self._phrases[first]:
                    counts[g] += len(pattern.findall(joined))
            for g, pattern in self._others:
                counts[g] += len(pattern.findall(joined))
        return {name: n for name, n in zip(self.names, counts, strict=True) if n}


def union(sets: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """Prefixes of several patterns together (None when any of them is None)."""
    found: set[str] = set()
    for prefixes in sets:
        if prefixes is None:
            return None
        found |= prefixes
    return frozenset(found)
