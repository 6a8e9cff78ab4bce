"""Import stage: export files (xlsx, xls, csv) into source_record, event and quarantine, with lineage."""

from mactl.importing.stage import FileResult, ImportSummary, SheetResult, expand_paths, import_paths, infer_channel

__all__ = ["FileResult", "ImportSummary", "SheetResult", "expand_paths", "import_paths", "infer_channel"]
