"""Order lines that live on a cluster (``hdfs://``, ``s3a://``, ``abfss://``, ``file:`` URIs):
read in place by Spark. Only the header (CSV: the first lines, fetched through Spark into a
small local file and sniffed like an upload; Parquet: the schema) reaches the driver, where the
column mapping is detected as for any upload."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from core.errors import InputError
from core.ingest import mapping as mp
from core.ingest.load import Inputs
from core.ingest.sniff import Sniffed, sniff
from core.ingest.streams import temp_csv

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
HEAD_LINES = 200


def is_local(path: str | Path) -> bool:
    """A path on this machine (no URI scheme), which ingest sniffs and keeps like an upload."""
    return not _SCHEME.match(str(path))


def _is_parquet(spark: Any, path: str) -> bool:
    """Parquet by its name, the first bytes of the file (``PAR1``) or, for a folder, its part
    files' names; asked through Hadoop's file system, so nothing is read as the wrong format."""
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(hpath):
        raise InputError(f"{path}: there is no such file or folder (as Spark sees it). Check "
                         "the address and that the cluster may read it.", file=path)
    if path.rstrip("/").lower().endswith((".parquet", ".pq")):
        return True
    if fs.getFileStatus(hpath).isDirectory():
        names = [st.getPath().getName() for st in fs.listStatus(hpath)]
        return any(n.lower().endswith((".parquet", ".pq")) for n in names
                   if not n.startswith(("_", ".")))
    stream = fs.open(hpath)
    try:
        return bytes(stream.readNBytes(4)) == b"PAR1"
    finally:
        stream.close()


@contextmanager
def remote_inputs(spark: Any, path: str, catalog: Path | None, options: Any,
                  tmp_dir: Path) -> Iterator[Inputs]:
    """``core.ingest.load.opened`` for a cluster path: the header, the kind (csv, parquet) and
    the detected mapping; the catalog (a local file) is sniffed as usual."""
    name = Path(path.rstrip("/")).name
    tmp: list[Path] = []
    try:
        if _is_parquet(spark, path):
            header = list(spark.read.option("mergeSchema", True).parquet(path).columns)
            sn = Sniffed(original=Path(name), path=Path(name), kind="parquet", encoding="utf-8",
                         delimiter=",", header=header)
        else:
            try:
                head = [r[0] for r in spark.read.text(path).limit(HEAD_LINES).collect()]
            except Exception as exc:
                raise InputError(f"{path}: Spark cannot read it ({str(exc).splitlines()[0]})."
                                 " Check the address and that the cluster may read it.",
                                 file=path) from None
            local = temp_csv(tmp_dir)
            tmp.append(local)
            local.write_text("\n".join(head) + "\n", encoding="utf-8")
            found = sniff(local, tmp_dir, layout="lines", has_mapping=bool(options.mapping))
            if found.temp:
                tmp.append(found.path)
            sn = Sniffed(original=Path(name), path=Path(name), kind="csv",
                         encoding=found.encoding, delimiter=found.delimiter, header=found.header)
        mp.check_header(sn.header, name)
        cat_sn = None
        if catalog is not None:
            cat_sn = sniff(catalog, tmp_dir, layout="lines", has_mapping=True)
            if cat_sn.temp:
                tmp.append(cat_sn.path)
            mp.check_header(cat_sn.header, catalog.name)
        detection = mp.detect(sn.header, cat_sn.header if cat_sn else None, options.mapping,
                              file=name, catalog_file=catalog.name if catalog else None,
                              strict=True)
        yield Inputs(sn, cat_sn, detection, tmp)
    finally:
        for p in tmp:
            p.unlink(missing_ok=True)
