"""scanner.textnorm: the normal form every hash, marker and fingerprint is computed on."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from conftest import ROOT, TEXTS
from scanner import textnorm
from scanner.textnorm import decode_text, git_blob_oid, normalize, normalized_sha256

# --- the plain pipeline normalize() is an optimised form of (shipped hashes depend on it) ----------

_T = textnorm._TRANSLATE     # the character table is data both pipelines share
_STEPS = [
    (re.compile(r"^[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*$", re.M), " "),                       # rules
    (re.compile(r"!?\[([^\[\]\n]{0,500})\]\(([^()\s]{0,2048})\)"), r"\1 \2"),                    # links
    (re.compile(r"<(https?://[^<>\s]{1,2048})>"), r"\1"),                                      # autolinks
    (re.compile(r"</?[a-zA-Z][^>\n]{0,200}>"), " "),                                           # html tags
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~\"'])"), r"\1"),                                   # escapes
    (re.compile(r"^[ \t]*(?:>[ \t]*)*(?:#{1,6}[ \t]+|[-*+][ \t]+|(?:\(?[0-9]{1,3}[.)]|\(?[a-z]{1,2}\)|"
                r"\(?[ivx]{1,5}\))[ \t]+)*", re.M), ""),                                       # bullets, numbering
    (re.compile(r"(\*{1,3}|_{1,3}|~~|`+)"), ""),                                               # emphasis
    (re.compile(r"\(c\)|©|\(C\)"), "(c)"),
]


def plain_normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_T)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for pattern, repl in _STEPS:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s+", " ", text.lower())
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    return text.strip()


def corpus_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(TEXTS.glob("*.*"))] if TEXTS.is_dir() else []
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").rglob("*.md"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "scanner").rglob("*.py"))[:20]]
    return texts


def test_normalize_equals_the_plain_pipeline_on_real_texts():
    for text in corpus_texts():
        assert normalize(text) == plain_normalize(text)


def test_normalize_equals_the_plain_pipeline_on_random_text():
    alphabet = list(" \t\n\r*_~`#>-+().[]!\\<>/abcCAIiVx0123456789\u00a9\u2019\u201c\u00a0\u2003\u0301\u0308"
                    "\u0323e\u1100\u1161\u11a8\u2034\ufb01\u00bd\u2460\u3000\u2028\x1c\x85\u0130\u0f73") + [
        "(c)", "(C)", "~~", "**", "\\_", "[a](b)", "](", "<http://x>", "<b>", "---", "1. ", "(ii) ", "e\u0301"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert normalize(text) == plain_normalize(text), repr(text)


# --- what it makes equal ---------------------------------------------------------------------------

BASE = 'the licensee shall, "subject to" section 2, display (c) meta\'s notice.'


@pytest.mark.parametrize("variant", [
    'The Licensee shall, "subject to" Section 2, display (c) Meta\'s notice.',               # case
    'the licensee   shall,\n"subject to"\tsection 2,\r\ndisplay (c)\n  meta\'s notice.',     # whitespace, wraps
    'the **licensee** shall, "*subject* to" section 2, display (c) meta\'s \\_\\_notice\\_\\_.',  # emphasis, escapes
    "the licensee shall, \u201csubject to\u201d section 2, display (c) meta\u2019s notice.",  # curly quotes
    'the licensee shall, "subject to" section 2, display \u00a9 meta\'s notice.',              # ©
    'the licensee shall, "subject to" section 2, display (C) meta\'s notice.',                 # (C)
    'the licensee shall , "subject to" section 2 , display ( c) meta\'s notice .',             # spaced punctuation
])
def test_meaningless_differences_vanish(variant):
    assert normalize(variant) == normalize(BASE) == BASE


@pytest.mark.parametrize("listed", [
    "- the grant\n- the terms", "* the grant\n* the terms", "1. the grant\n2. the terms",
    "(a) the grant\n(b) the terms", "iv) the grant\nv) the terms", "> the grant\n> the terms",
    "## the grant\n### the terms", "\u2022 the grant\n\u2022 the terms",
])
def test_bullets_numbering_and_headings_at_line_starts_vanish(listed):
    assert normalize(listed) == "the grant the terms"


def test_links_rules_and_html():
    assert normalize("see [the policy](https://x.y/p) now") == "see the policy https://x.y/p now"
    assert normalize("a\n\n---\n\nb <br/> c <https://x.y>") == "a b c https://x.y"


def test_meaningful_differences_stay():
    assert normalize("Llama 3.1") != normalize("Llama 3.2")
    assert normalize("shall not") != normalize("shall")
    assert normalize("700 million") != normalize("100 million")


def test_normalized_sha256_is_stable():
    # examples/hub and shipped reference data keep these hashes: a change here means rebuilding both
    assert normalized_sha256("Hello,  World\n") == "09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b"
    assert normalized_sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_git_blob_oid():
    assert git_blob_oid(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.mark.parametrize("data,expected", [
    (b"plain text\n", "plain text\n"),
    ("caf\u00e9 \u2019quoted\u2019".encode("utf-8"), "caf\u00e9 \u2019quoted\u2019"),
    (b"\xef\xbb\xbfbom", "bom"),
    ("utf16 text".encode("utf-16"), "utf16 text"),
    ("Licence fran\u00e7aise".encode("latin-1"), "Licence fran\u00e7aise"),
    ("the \u201cAgreement\u201d \u2013 Meta\u2019s".encode("cp1252"), "the \u201cAgreement\u201d \u2013 Meta\u2019s"),
    (b"\x00\x01\x02binary", None),
    (bytes(range(128, 256)) * 20, None),
    (b"", ""),
])
def test_decode_text(data, expected):
    assert decode_text(data) == expected
