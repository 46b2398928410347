"""Sample records for tests: one place that knows which Article fields derive from which
(id from the URL, hash and word count from the text), so each test names only what it is
about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dyadwatch import records

# One wire story, as syndicated by several outlets (near-duplicate and story tests).
WIRE = (
    "Iran and Pakistan agreed on Tuesday to reopen the Taftan border crossing to trade "
    "after three weeks of closure, officials in Quetta and Zahedan said. The decision "
    "followed talks between the interior ministers of the two countries in Islamabad, "
    "where both sides pledged to tighten security along the 900-kilometre frontier and "
    "to share intelligence on militant groups operating in Balochistan and Sistan and "
    "Baluchestan. Traders welcomed the move, saying hundreds of trucks carrying fruit, "
    "rice and liquefied petroleum gas had been stranded on both sides of the border "
    "since the closure. The crossing had been shut after an attack on a border post "
    "that killed four guards, an assault claimed by a separatist group. Pakistan's "
    "foreign office said the two governments would also revive a joint border "
    "commission that has not met since 2019, and discussed the long-delayed gas "
    "pipeline and new border markets meant to give residents of the frontier a legal "
    "livelihood. Iran's ambassador in Islamabad described the talks as constructive "
    "and said a trade target of five billion dollars remained within reach."
)


def make_article(url: str, text: str, when: datetime, **fields: Any) -> records.Article:
    """An English article from ``url`` with ``text``, published and fetched at ``when``;
    ``fields`` set or override any other Article field."""
    values: dict[str, Any] = {
        "article_id": records.stable_id(url),
        "url": url,
        "source_id": None,
        "outlet": "Dawn",
        "title": f"Title of {url}",
        "author": None,
        "published_at": when,
        "fetched_at": when,
        "language": "en",
        "text": text,
        "text_hash": records.stable_id(text),
        "word_count": len(text.split()),
        "extractor_version": "test",
    }
    values.update(fields)
    return records.Article(**values)
