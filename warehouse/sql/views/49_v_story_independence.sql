-- v_story_independence: how many independent outlets carry each story, so a story
-- "corroborated by 2+ outlets" means two sources, not one wire text reprinted twice.
-- One row per story carried by more than one article (stg_stories.story_key: the
-- near-duplicate story id, else the text hash; a story of one article has one outlet).
-- The rule, per article of the story:
--   1. its own origin is its wire credit when the text opens with one (within its first
--      200 characters, a dateline at most 60 characters long then "(Reuters) -",
--      "AFP:", "(APP) --" ...: AP, Reuters, AFP, APP, IRNA, PTI, Xinhua, Anadolu, dpa,
--      Mehr, MNA, Tasnim, ISNA, Fars, IRIB), else its outlet;
--   2. it counts for the own origin of the earliest article of its story whose text is
--      near-identical to its own (MinHash Jaccard estimate >= 0.8 from the first 32 values
--      of the stored signatures; itself when there is none): a reprint counts for the
--      original.
-- n_independent_outlets is the number of distinct origins: two outlets running one
-- Reuters text count once, an outlet's own rewrite (Jaccard under 0.8) counts apart.
--   n_articles, n_outlets   copies and distinct outlets (as v_story_clusters)
--   origins                 the distinct origins, sorted ('wire:REUTERS', 'outlet:Dawn')
--   wire_credits            wire agencies credited at the start of a copy
--   first_reported_at, last_reported_at, relevant (any copy relevant)
CREATE OR REPLACE VIEW v_story_independence AS
WITH sized AS (
    SELECT *, count(*) OVER (PARTITION BY story_key) AS n_in_story FROM stg_stories
),
copies AS (
    SELECT
        s.article_id,
        s.story_key,
        s.outlet_name,
        s.reported_at,
        s.relevant,
        upper(nullif(regexp_extract(
            left(a.text, 200),
            '^[^\n(]{0,60}?[(\[]?\b(AP|Reuters|REUTERS|AFP|APP|IRNA|PTI|Xinhua|XINHUA|'
            || 'Anadolu|dpa|Mehr|MNA|Tasnim|ISNA|Fars|IRIB)\b[)\]]?\s*[-–—:|]',
            1
        ), '')) AS wire_credit,
        hex(m.signature) AS signature
    FROM sized AS s
    JOIN articles AS a USING (article_id)
    LEFT JOIN article_minhash AS m USING (article_id)
    WHERE s.n_in_story > 1
),
own AS (
    SELECT *, coalesce('wire:' || wire_credit, 'outlet:' || outlet_name) AS own_origin
    FROM copies
),
-- the first 32 of the signatures' 128 hash values, one row each, to count equal values
-- pair by pair (32 values estimate a Jaccard of 0.8 within about 0.07, at a quarter of
-- the cost)
hash_values AS (
    SELECT o.article_id, o.story_key, t.pos, substr(o.signature, t.pos * 16 + 1, 16) AS v
    FROM own AS o
    CROSS JOIN range(32) AS t(pos)
    WHERE o.signature IS NOT NULL
),
near_identical AS (
    SELECT a.article_id, b.article_id AS other_id
    FROM hash_values AS a
    JOIN hash_values AS b
        ON a.story_key = b.story_key AND a.pos = b.pos AND a.v = b.v
        AND a.article_id <> b.article_id
    GROUP BY a.article_id, b.article_id
    HAVING count(*) >= 0.8 * 32
),
candidates AS (
    SELECT article_id, article_id AS other_id FROM own
    UNION ALL
    SELECT article_id, other_id FROM near_identical
),
counted AS (
    SELECT
        a.article_id,
        arg_min(b.own_origin, (b.reported_at, b.article_id)) AS origin
    FROM candidates AS c
    JOIN own AS a ON a.article_id = c.article_id
    JOIN own AS b ON b.article_id = c.other_id
    WHERE b.reported_at < a.reported_at
        OR (b.reported_at = a.reported_at AND b.article_id <= a.article_id)
    GROUP BY a.article_id
)
SELECT
    o.story_key,
    count(*) AS n_articles,
    count(DISTINCT o.outlet_name) AS n_outlets,
    count(DISTINCT c.origin) AS n_independent_outlets,
    list_sort(list_distinct(list(c.origin))) AS origins,
    list_sort(list_distinct(list(o.wire_credit))) AS wire_credits,
    min(o.reported_at) AS first_reported_at,
    max(o.reported_at) AS last_reported_at,
    bool_or(coalesce(o.relevant, FALSE)) AS relevant
FROM own AS o
JOIN counted AS c USING (article_id)
GROUP BY o.story_key;
