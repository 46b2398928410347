-- 0007_signal_direction_and_quad: who acts on whom, and the PLOVER quad class, per signal
-- (extractors/direction.py).
--
--   signals.direction   'IR->PK' / 'PK->IR' (the dyad's codes), 'joint' or 'undirected'
--   signals.quad_class  'verbal_cooperation' | 'material_cooperation' | 'verbal_conflict'
--                       | 'material_conflict'
--
-- Rows stored before this migration are 'undirected' (the re-tag DAG directs them once the
-- tagger version changes) and get the quad class their category and tone give.

-- The quad class from category and tone alone: extractors/direction.category_quad_class
-- in SQL (tests/unit/test_direction.py keeps the two equal).  The load and the re-tag use
-- it for a signal that comes without one.
CREATE OR REPLACE MACRO signal_quad_class(category, tone_score) AS
    CASE
        WHEN tone_score = 0 THEN 'verbal_cooperation'
        ELSE
            CASE
                WHEN category IN ('armed_clash', 'militancy', 'border_security',
                                  'trade_economy', 'energy', 'connectivity', 'humanitarian',
                                  'refugees_migration', 'military_cooperation')
                    THEN 'material_'
                ELSE 'verbal_'
            END
            || CASE WHEN tone_score > 0 THEN 'cooperation' ELSE 'conflict' END
    END;

ALTER TABLE signals ADD COLUMN IF NOT EXISTS direction VARCHAR DEFAULT 'undirected';
ALTER TABLE signals ADD COLUMN IF NOT EXISTS quad_class VARCHAR;

UPDATE signals
SET direction = coalesce(direction, 'undirected'),
    quad_class = coalesce(quad_class, signal_quad_class(category, tone_score));
