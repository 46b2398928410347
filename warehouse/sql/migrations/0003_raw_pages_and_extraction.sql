-- 0003_raw_pages_and_extraction: every article points at its raw page, kept for
-- re-extraction, and says how its text was extracted.
--
-- raw_sha256: sha256 of the page's bytes as fetched; the page is stored gzip-compressed
--   at DATA/raw/<sha[0:2]>/<sha[2:4]>/<sha>.html.gz (extractors/rawstore.py).  NULL for
--   seed articles and for articles loaded before this migration (those cannot be
--   re-extracted without refetching).
-- raw_charset: the charset the page was served with (how its bytes are decoded again).
-- extraction_status: 'ok' for every stored article; pages that are no article (empty,
--   too_short, consent_wall, paywall, not_article) are recorded in fetch_log instead,
--   with the status as error_class.
-- extraction_method: which extractor's text was kept: 'trafilatura' | 'readability' |
--   'seed'.
ALTER TABLE articles ADD COLUMN IF NOT EXISTS raw_sha256 VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS raw_charset VARCHAR;
ALTER TABLE articles ADD COLUMN IF NOT EXISTS extraction_status VARCHAR DEFAULT 'ok';
ALTER TABLE articles ADD COLUMN IF NOT EXISTS extraction_method VARCHAR;
