"""Storage: SQLAlchemy models and every SQL query of the backend."""
