"""The data stage: upstream formats (``formats/``, behind ``readers``), downloads and archive
extraction, the real datasets' preparation, the synthetic demo data (``synthetic/``), and the
Parquet contracts between all stages (``contracts``, written through ``io.atomic_output``)."""
