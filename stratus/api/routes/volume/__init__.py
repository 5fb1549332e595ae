"""volume API routes (one module per resource)."""
