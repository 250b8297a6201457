"""The local backend: the pipeline's stages on the file system with DuckDB."""
