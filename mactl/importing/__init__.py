"""Import stage: export files (xlsx, xls, csv) into source_record, event and quarantine, with lineage."""
