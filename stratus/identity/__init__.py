"""Identity (Keystone v3): services between the API routes and the identity tables."""
