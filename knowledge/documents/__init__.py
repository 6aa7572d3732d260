"""Policy documents: loading files, layout-aware chunks, ingestion with versions, the document store, folder sync."""
