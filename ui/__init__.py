"""Streamlit-only helpers (state keys, cached wrappers, widgets). The only Streamlit code
besides ``app.py`` and ``pages/``."""
