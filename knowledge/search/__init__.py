"""Finding passages: the embedding model and its space, hybrid retrieval, re-embedding, retrieval evaluation."""
