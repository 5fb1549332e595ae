"""The server document as Nova shows it at each microversion (to be written)."""
