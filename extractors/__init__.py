"""Raw input -> records: feeds, HTTP fetching, text extraction, signal tagging."""
