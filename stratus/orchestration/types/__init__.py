"""Resource types, one module per service namespace (Heat's ``resource_mapping()``)."""
