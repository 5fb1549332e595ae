def resource_mapping():
    return {}
