"""File formats: import readers and export writers (pure I/O, no database).

Readers stream a file into :class:`ImportRecord` values; writers turn :class:`ExportRecord` values
into a file. The import/export services map records to and from the store.

Example:
    >>> from labelloop.services.data.formats import read_records
    >>> records = read_records(Path("pool.csv"), id_field="id", label_field="label")
    >>> next(records).data  # doctest: +SKIP
    {'text': 'first item'}
"""

from labelloop.services.data.formats.readers import (
    IMPORT_FORMATS,
    count_rows_hint,
    detect_format,
    iter_media_files,
    read_records,
)
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportedPrediction,
    ImportRecord,
)
from labelloop.services.data.formats.writers import (
    BOX_EXPORT_FORMATS,
    BOX_ONLY_FORMATS,
    EXPORT_FORMATS,
    FILE_EXPORT_FORMATS,
    FOLDER_EXPORT_FORMATS,
    LABEL_STUDIO_CONFIG,
    MULTI_LABEL_SEPARATOR,
    SPAN_EXPORT_FORMATS,
    SPANS_ONLY_FORMATS,
    export_format_for,
    export_formats_for,
    label_studio_config,
    write_records,
)

__all__ = [
    "BOX_EXPORT_FORMATS",
    "BOX_ONLY_FORMATS",
    "EXPORT_FORMATS",
    "FILE_EXPORT_FORMATS",
    "FOLDER_EXPORT_FORMATS",
    "IMPORT_FORMATS",
    "LABEL_STUDIO_CONFIG",
    "MULTI_LABEL_SEPARATOR",
    "SPANS_ONLY_FORMATS",
    "SPAN_EXPORT_FORMATS",
    "ExportRecord",
    "ImportRecord",
    "ImportedAnnotation",
    "ImportedPrediction",
    "count_rows_hint",
    "detect_format",
    "export_format_for",
    "export_formats_for",
    "iter_media_files",
    "label_studio_config",
    "read_records",
    "write_records",
]
