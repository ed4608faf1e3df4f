"""Search: the embedder, the Tantivy full-text index, and their fusion."""
