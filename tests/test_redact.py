"""Redaction by shape (scanner/redact.py) looks for each shape only where it can occur; this
checks it against the plain patterns applied to every byte, on generated text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.redact import MASK, redact

USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]+")


def everywhere(text: str) -> str:
    text = USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = HF_TOKEN.sub(MASK, text)
    return BEARER.sub(lambda m: m.group(1) + MASK, text)


PIECES = ["https://user:pw@host/x", "hf_" + "Ab1" * 11, "Bearer abc.def", "bEaReR\tq", "a://b@c://d@", "@", "\n",
          "://", "ftp://u@h", "-://a@b", "1://a@b", " ", "é", "x", "hf_", "\u212a", "İ", "#", "?", "/"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=14))
def test_redact_masks_exactly_what_the_patterns_mask_everywhere(parts):
    text = "".join(parts)
    assert redact(text) == everywhere(text)


def test_each_shape_is_masked_in_a_long_report():
    filler = '  "name": "a model",\n' * 20000
    text = filler + '"url": "https://me:s3cret@hub.example/x"\n' + filler + "Authorization: Bearer abc123\n" \
        + "token hf_" + "x" * 34 + "\n"
    out = redact(text)
    assert "s3cret" not in out and "abc123" not in out and "hf_xxx" not in out
    assert out.count(MASK) == 3 and out.startswith(filler)
