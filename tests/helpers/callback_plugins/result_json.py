"""Test-only stdout callback: prints each host's full task result, ``diff`` included, as JSON."""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: result_json
type: stdout
short_description: print whole task results as JSON lines (tests only)
description: One JSON object a line (host and result), with nothing removed.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "result_json"

    def _emit(self, result, **extra):
        data = dict(result._result)
        data.update(extra)
        print(json.dumps({"host": result._host.get_name(), "result": data}, default=str))

    def v2_runner_on_ok(self, result):
        self._emit(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._emit(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._emit(result, failed=True, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._emit(result, skipped=True)
