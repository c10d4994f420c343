"""BundleLab core: ingest, rules, embeddings, recommender, bundles, evaluation, export.

Nothing in this package imports Streamlit; the UI (``app.py``, ``pages/``, ``ui/``) and the CLI
(``python -m core``) are thin front ends over the same functions.
"""

__version__ = "0.1.0"
