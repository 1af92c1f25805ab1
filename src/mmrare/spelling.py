"""British to American spelling of single words, shared by the linker and leakage control.

ORDO spells names the American way and many case reports are written in British English; the linker
(matching names) and leakage control (finding the answer in the text) must fold both sides the same
way, and stages never import each other, so the rule lives here.
"""

from __future__ import annotations


def american(word: str) -> str:
    """The American spelling of a lower-case word written the British way: "ae" and "oe" inside a word
    become "e" ("haemorrhage", "anaemia", "oedema", "coeliac", "diarrhoea"), a final "our" of a long word
    becomes "or" ("tumour", "behaviour"), "sulph" becomes "sulf". Both sides of every comparison pass
    through this, so a word that merely contains "ae" ("aeruginosa") still meets itself."""
    if len(word) < 5:
        return word
    if "ae" in word or "oe" in word:
        word = word.replace("ae", "e").replace("oe", "e")
    if len(word) >= 6 and word.endswith("our"):
        word = word[:-3] + "or"
    elif len(word) >= 7 and word.endswith("ours"):
        word = word[:-4] + "ors"
    return word.replace("sulph", "sulf")
