"""DuckDB: schema and migrations, staging and loading, views, alerts, analyst CLI."""
