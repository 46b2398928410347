"""feedparser's own test feeds, served over loopback, through our feed path.

Every file of ``corpus/feeds/feedparser-tests`` is served with the HTTP headers its
comment block names (``Header:`` lines) and fetched with :func:`fetch_feed`.  None may
raise; each either yields entries, parses to an empty feed, or records why it could
not be used; a file whose ``Expect:`` says ``bozo`` must be recorded as malformed, and
one that says ``not bozo`` must not be.  One test per sub-folder, collecting every
failure before asserting.

chardet is a pinned dependency (feedparser guesses undeclared charsets with it), so the
files whose ``SkipUnless`` asks for chardet (``illformed/chardet/*``) always run.
"""

from __future__ import annotations

import codecs
import re

import chardet  # noqa: F401  (the chardet files run; a missing chardet fails here)
import pytest

from dyadwatch.records import Source, stable_id
from extractors.feeds import fetch_feed
from extractors.http import http_client
from tests.conftest import CORPUS, corpus_or_skip

SUITE = CORPUS / "feeds" / "feedparser-tests"
FOLDERS = ["encoding", "entities", "illformed", "json", "wellformed"]
MALFORMED = {"parse_error", "malformed_feed", "unsafe_xml"}
RECORDED = MALFORMED | {"decode_error", "http_status"}

_FIELD = re.compile(r"^\s*(Header|Expect|SkipUnless):\s*(.*?)\s*$", re.MULTILINE)


def _comment(raw: bytes) -> str:
    """The leading comment block, whatever the file's encoding."""
    for codec in ("utf-8", "utf-16", "utf-32", "latin-1"):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if "Description" in text or "Expect" in text:
            return text.split("-->", 1)[0]
    return ""


def _meta(raw: bytes) -> tuple[dict[str, str], str, str | None]:
    headers: dict[str, str] = {}
    expect = ""
    skip_unless = None
    for key, value in _FIELD.findall(_comment(raw)):
        if key == "Header" and ":" in value:
            name, _, header_value = value.partition(":")
            headers[name.strip()] = header_value.strip()
        elif key == "Expect":
            expect = value
        else:
            skip_unless = value
    return headers, expect, skip_unless


def _can_hold(skip_unless: str | None) -> bool:
    """Whether a file's SkipUnless condition holds here (codecs; chardet is installed)."""
    if not skip_unless:
        return True
    lookup = re.search(r"codecs'\)\.lookup\('([^']+)'\)", skip_unless)
    if lookup:
        try:
            codecs.lookup(lookup.group(1))
            return True
        except LookupError:
            return False
    return True  # chardet, version checks and feedparser attributes hold here


def _expects_bozo(expect: str) -> bool:
    return bool(re.match(r"^bozo\b", expect.strip()))  # ('Expect: 1' claims nothing)


def _expects_not_bozo(expect: str) -> bool:
    return bool(re.match(r"^not bozo\b", expect.strip()))


@pytest.mark.corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_feedparser_suite_folder(folder, site, settings):
    root = corpus_or_skip(SUITE) / folder
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert files, f"{root} is empty"
    problems: list[str] = []
    counts = {"files": len(files), "entries": 0, "empty": 0, "recorded": 0, "malformed": 0}
    counts |= {"entries_total": 0, "skipped": 0, "bozo_expected": 0, "not_bozo_expected": 0}
    with http_client(settings) as client:
        for i, path in enumerate(files):
            raw = path.read_bytes()
            headers, expect, skip_unless = _meta(raw)
            if not _can_hold(skip_unless):
                counts["skipped"] += 1
                continue
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/xml"  # one header, whatever its case
            url = site.route(f"/{folder}/{i}/{path.name}", raw, headers=headers)
            source = Source(source_id=stable_id(url), kind="feed", url=url, outlet="suite")
            name = str(path.relative_to(root))
            try:
                outcome = fetch_feed(client, settings, source, None)
            except Exception as exc:  # the point of the test: nothing may escape
                problems.append(f"{name}: raised {type(exc).__name__}: {exc}")
                continue
            attempt = outcome.attempts[-1]
            if attempt.error_class and attempt.error_class not in RECORDED:
                problems.append(
                    f"{name}: unexpected {attempt.error_class}: {attempt.error_message}"
                )
            if attempt.error_class and not attempt.error_message:
                problems.append(f"{name}: {attempt.error_class} without a reason")
            if _expects_bozo(expect):
                counts["bozo_expected"] += 1
                if attempt.error_class not in MALFORMED:
                    problems.append(f"{name}: expects bozo, recorded {attempt.error_class}")
            if _expects_not_bozo(expect):
                counts["not_bozo_expected"] += 1
                if attempt.error_class in MALFORMED:
                    problems.append(
                        f"{name}: expects not bozo, recorded {attempt.error_class}: "
                        f"{attempt.error_message}"
                    )
            counts["malformed"] += attempt.error_class in MALFORMED
            counts["entries_total"] += len(outcome.entries)
            if not attempt.ok:
                counts["recorded"] += 1
            elif outcome.entries:
                counts["entries"] += 1
            else:
                counts["empty"] += 1
    print(f"{folder}: {counts}")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:50])
