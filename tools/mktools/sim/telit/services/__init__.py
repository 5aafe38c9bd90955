"""Telit IP Easy services beside sockets: the native HTTP client (T-IPE §10)."""
