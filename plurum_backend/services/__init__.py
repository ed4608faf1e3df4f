"""The rules of Plurum. Services take a Tx or a database session; they know nothing of HTTP."""
