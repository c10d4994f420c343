"""The Spark engine: ingest and cleaning (``ingest``), frequent itemsets and co-purchase counts
(``mining``) on Apache Spark, with the same contracts as the DuckDB engine. ``session`` starts
or reuses the Spark session. pyspark is imported lazily (it needs Java)."""
