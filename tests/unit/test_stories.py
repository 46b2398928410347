"""Near-duplicates: syndicated copies of one story share a story_id; others do not.

Real DuckDB warehouse, real staged batches, real MinHash signatures (checked against
datasketch's).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from dyadwatch import records
from extractors import stories
from tests.factories import WIRE, make_article
from warehouse.load import load_pending_batches
from warehouse.staging import stage_batch

T0 = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)


UNRELATED = (
    "Pakistan's cricket team arrived in Karachi on Monday for a three-match series, "
    "with the captain saying the squad had recovered from injuries sustained during a "
    "long tour of Australia. The board announced that two young fast bowlers would "
    "make their debuts, while the veteran opener was rested to manage his workload "
    "before the winter season. Tickets for the first match sold out within hours, and "
    "organisers expect full stadiums across the series as international cricket "
    "continues its return to the country after years of matches played abroad."
)


def article(url: str, outlet: str, text: str) -> records.Article:
    return make_article(url, text, T0, source_id=f"src-{outlet}", outlet=outlet, title=text[:60])


def copies() -> list[records.Article]:
    dawn = article(
        "https://dawn.example/news/1",
        "Dawn",
        "ISLAMABAD: " + WIRE + " Follow Dawn on social media for the latest updates.",
    )
    tribune = article(
        "https://tribune.example/story/2",
        "Express Tribune",
        "Published in The Express Tribune, October 12th. "
        + WIRE.replace("on Tuesday", "on Tuesday evening").replace("welcomed", "hailed")
        + " Additional reporting by our correspondent in Quetta.",
    )
    irna = article(
        "https://irna.example/en/3",
        "IRNA",
        "TEHRAN, Oct. 12 (IRNA) - "
        + WIRE.replace("900-kilometre", "959-kilometre").replace("four guards", "4 guards")
        + " Read more: related stories on regional trade.",
    )
    return [dawn, tribune, irna]


def test_shingles_and_signatures_round_trip():
    m = stories.minhash(WIRE)
    assert stories.similarity(m, stories.signature_values(stories.signature_bytes(m))) == 1.0
    assert len(stories.band_keys(m)) == stories.BANDS
    assert stories.similarity(m, stories.minhash(UNRELATED)) < 0.1
    assert not stories.is_comparable("Too short to compare.")


def test_three_outlets_one_story_across_batches_and_an_unrelated_story(settings):
    dawn, tribune, irna = copies()
    cricket = article("https://dawn.example/sport/9", "Dawn", UNRELATED)
    # the first copy and an unrelated story in one run; the other two copies later
    stage_batch(settings.staging_dir, "run-1", {"articles": [dawn, cricket]}, {})
    load_pending_batches(settings)
    stage_batch(settings.staging_dir, "run-2", {"articles": [tribune, irna]}, {})
    load_pending_batches(settings)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        story = dict(con.execute("SELECT url, story_id FROM articles").fetchall())
        daily = con.execute(
            "SELECT articles, stories FROM v_stories_daily WHERE day = ?", [T0.date()]
        ).fetchone()
        indexed = con.execute("SELECT count(*) FROM article_minhash").fetchone()[0]
    assert len(story) == 4
    assert story[dawn.url] == story[tribune.url] == story[irna.url] == dawn.article_id
    assert story[cricket.url] == cricket.article_id
    assert daily == (4, 2)
    assert indexed == 4


def test_copies_within_one_batch_share_a_story(settings):
    dawn, tribune, irna = copies()
    stage_batch(settings.staging_dir, "run-1", {"articles": [tribune, dawn, irna]}, {})
    load_pending_batches(settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT story_id FROM articles").fetchall()}
    assert ids == {tribune.article_id}  # the first copy loaded names the story


def test_the_pinned_lsh_bands_are_datasketchs_choice():
    from datasketch.lsh import _optimal_param

    assert (stories.BANDS, stories.ROWS) == _optimal_param(
        stories.SIMILARITY_THRESHOLD, stories.NUM_PERM, 0.5, 0.5
    )
    m = stories.minhash(WIRE)
    values = stories.from_hex(stories.to_hex(m))  # a signature without datasketch
    assert stories.similarity(values, m) == stories.similarity(m, m) == 1.0
    assert stories.band_keys(values) == stories.band_keys(m)


def test_signatures_are_datasketchs_affine32_minhash():
    """Stored signatures were made by datasketch; ours must be the very same values, or a
    new copy of an old story would no longer find it."""
    from datasketch import MinHash

    texts = [WIRE, UNRELATED, "", "one", "Islāmābād İstanbul ẞtraße Tehran", "کوئٹہ " * 30]
    template = MinHash(num_perm=stories.NUM_PERM, seed=stories.SEED, scheme=stories.SCHEME)
    for text in texts:
        theirs = MinHash(
            num_perm=stories.NUM_PERM,
            seed=stories.SEED,
            scheme=stories.SCHEME,
            permutations=template.permutations,
        )
        theirs.update_batch([s.encode("utf-8") for s in stories.shingles(text)])
        ours = stories.minhash(text)
        assert stories.signature_bytes(ours) == stories.signature_bytes(theirs.hashvalues), text
    assert stories.signature_if_comparable("Too short to compare.") is None
    assert stories.to_hex(stories.signature_if_comparable(WIRE)) == stories.to_hex(
        stories.minhash(WIRE)
    )
