"""Ingest: the Falcon WSGI app that accepts webhooks and serves job status (under gunicorn)."""
