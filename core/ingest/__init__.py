"""Ingest: an uploaded order-lines export (CSV/TSV, gzip, XLSX, any common encoding, or one basket
per line) plus an optional product catalog becomes a cleaned workspace dataset with a cleaning
report in which every dropped row has a named reason (``rows_read == rows_kept + sum(dropped)``).

The steps, one module each: ``sniff`` (what the file is; ``content``, ``streams``), ``convert``
(to a UTF-8 CSV DuckDB reads), ``mapping`` (columns to fields), ``rawread`` (into DuckDB),
``cleaning`` and ``store`` (clean SQL, the dataset), orchestrated by ``load``. ``preview`` shows a
file before it is loaded and ``check`` (with ``advice``) is a dry run of ingest on it: the same
column detection (``mapping.detect``), reading and cleaning SQL, nothing stored; ``overview``
summarises a loaded dataset (import these from their modules: re-exported here, the functions
would hide the modules of the same name).
"""

from core.ingest.load import IngestOptions, default_name, ingest, reclean

__all__ = ["IngestOptions", "default_name", "ingest", "reclean"]
