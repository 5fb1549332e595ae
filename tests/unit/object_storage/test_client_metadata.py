"""Metadata planning of the object modules: which headers bring a container's or
object's metadata to what the task asks."""

from __future__ import annotations

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store.client import (
    InvalidRequest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.containers import (
    container_facts,
    metadata_changes,
    normalize_metadata,
)
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.objects import object_facts

pytestmark = [pytest.mark.object_storage]

SET, REMOVE = "X-Container-Meta-", "X-Remove-Container-Meta-"


def test_keys_are_lower_cased_and_underscores_refused():
    assert normalize_metadata({"Color": "Blue", "n": 3, "gone": None}) == {"color": "Blue", "n": "3", "gone": ""}
    assert normalize_metadata(None) is None
    with pytest.raises(InvalidRequest, match="holds '_'.*use '-'"):
        normalize_metadata({"my_key": "v"})
    with pytest.raises(InvalidRequest, match="HTTP header name"):
        normalize_metadata({"two words": "v"})


def test_only_differences_become_headers():
    current = {"color": "blue", "size": "big"}
    assert metadata_changes(current, None, True, REMOVE, SET) == ({}, current)
    assert metadata_changes(current, {"color": "blue"}, False, REMOVE, SET) == ({}, current)
    headers, after = metadata_changes(current, {"color": "red", "new": "ü"}, False, REMOVE, SET)
    assert headers == {SET + "color": "red", SET + "new": "ü"}
    assert after == {"color": "red", "size": "big", "new": "ü"}


def test_purge_and_empty_values_remove_keys():
    current = {"color": "blue", "size": "big"}
    headers, after = metadata_changes(current, {"color": "blue"}, True, REMOVE, SET)
    assert (headers, after) == ({REMOVE + "size": "x"}, {"color": "blue"})
    headers, after = metadata_changes(current, {"size": "", "absent": ""}, False, REMOVE, SET)
    assert (headers, after) == ({REMOVE + "size": "x"}, {"color": "blue"})


def test_facts_from_headers():
    facts = container_facts("c", {"x-container-object-count": "2", "x-container-bytes-used": "10",
                                  "x-container-meta-color": "blue", "x-container-read": ".r:*",
                                  "x-storage-policy": "gold"})
    assert facts == {"name": "c", "object_count": 2, "bytes_used": 10, "metadata": {"color": "blue"},
                     "storage_policy": "gold", "read_acl": ".r:*", "write_acl": "",
                     "versions_location": "", "history_location": ""}
    assert container_facts("c", None) == {}
    obj = object_facts("c", "o", {"etag": '"abc"', "content-length": "5", "x-static-large-object": "True",
                                  "content-type": "text/plain", "x-object-meta-k": "v"})
    assert (obj["etag"], obj["size"], obj["large_object"], obj["metadata"]) == ("abc", 5, True, {"k": "v"})
