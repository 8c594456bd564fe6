"""The lineage graph: parent ids cleaned and resolved, families, generations, tables,
figures, and samples of whole families."""
