"""The OpenAPI document: a valid OpenAPI 3.1 document, exactly the routes the service serves, and a
schemathesis fuzz of every operation against a live service on the recorded traffic: no 5xx, every
answer as documented. XWRAP_FUZZ=1 runs the fuzz much longer."""
import ast
import asyncio
import inspect
import os
import re
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (content_type_conformance, negative_data_rejection, response_schema_conformance,
                                 status_code_conformance)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from exchange_wrapper.service import api
from exchange_wrapper.service.api import OPERATIONS
from exchange_wrapper.service.auth import Authenticator
from exchange_wrapper.service.errors import ERROR_CODES
from exchange_wrapper.service.http import create_app
from exchange_wrapper.service.openapi import PARAMETERS, PREFIX, ROUTES, document

from .recorded import TOKENS, TRADE_TOKEN, RecordedServiceTest

#: Examples per operation and generation mode: a few seconds in the suite, minutes with XWRAP_FUZZ=1.
EXAMPLES = 400 if os.environ.get("XWRAP_FUZZ") == "1" else 6
API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


class OpenApiDocumentTest(RecordedServiceTest):
    settings_overrides = {"tokens": TOKENS}

    async def test_the_document_is_valid_openapi_3_1_and_served_as_built(self):
        validate(document())
        self.assertEqual(await self.ok("GET", f"{PREFIX}/openapi.json"), document())

    def test_every_operation_has_one_route_and_every_parameter_a_schema(self):
        self.assertEqual(sorted(route.operation for route in ROUTES), sorted(OPERATIONS))
        for route in ROUTES:
            self.assertLessEqual(set(route.required), set(route.params), route.operation)
            self.assertLessEqual(set(route.path_params), set(route.required), route.operation)
            self.assertLessEqual(set(route.params), set(PARAMETERS), route.operation)

    def test_docs_api_md_documents_every_route_and_every_error_kind(self):
        text = API_DOC.read_text()
        for route in ROUTES:
            heading = (f"### {route.operation}\n\n`{route.method} {route.full_path}` · JSON-RPC `{route.operation}` · "
                       f"scope `{OPERATIONS[route.operation]}`")
            self.assertIn(heading, text)
            section = text.split(heading)[1].split("\n### ")[0]
            for name in route.params:
                self.assertIn(f"| `{name}` |", section)
        for kind, (code, status) in ERROR_CODES.items():
            self.assertIn(f"| `{kind}` | {code} | {status} |", text)

    def test_every_route_takes_the_parameters_its_operation_reads(self):
        """The table against api.py itself: the names each operation reads with Params."""
        reads = parameters_read(api.ExchangeWrapper)
        by_path = {"get_order", "cancel_order", "amend_order"}  # the path names the order; the lookup
        for route in ROUTES:                                     # by client_order_id is JSON-RPC's
            if route.any_body:
                continue
            expected = reads[route.operation] - ({"client_order_id", "wallet_set_id"} if route.operation in by_path
                                                 else set())
            self.assertEqual(set(route.params), expected, route.operation)

    async def test_the_served_routes_are_the_documented_ones(self):
        app = create_app(self.server.api, auth=Authenticator([]), metrics=self.server.metrics, bus=self.server.bus)
        served = set()
        for route in app.router.routes:
            path = "/" + re.sub(r"<(\w+)(:\w+)?>", r"{\1}", route.path)
            if path.startswith(PREFIX + "/") and path != PREFIX + "/openapi.json":
                served |= {(method, path) for method in route.methods}
        documented = {(method.upper(), path) for path, item in document()["paths"].items() for method in item}
        self.assertEqual(served, documented)

    async def test_fuzz_finds_no_server_error_and_every_answer_conforms(self):
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)  # wallet set 1: ids the fuzz tries first exist
        self.assertEqual(ws, 1)
        schema = schemathesis.openapi.from_dict(await self.ok("GET", f"{PREFIX}/openapi.json"))
        failures = await asyncio.to_thread(fuzz, schema, self.base, {"Authorization": f"Bearer {TRADE_TOKEN}"})
        self.assertEqual(failures, [])


def parameters_read(cls):
    """operation -> the parameter names its method (and the helpers it passes ``p`` to) reads."""
    tree = ast.parse(inspect.getsource(cls))
    methods = {node.name: node for node in tree.body[0].body if isinstance(node, ast.AsyncFunctionDef)}
    defaults = {"pair": "pair", "currency": "currency"}

    def names(method):
        found = set()
        for node in ast.walk(method):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) and \
                    function.value.id == "p":
                if node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
                elif function.attr in defaults:
                    found.add(defaults[function.attr])
            if isinstance(function, ast.Attribute) and function.attr in methods and \
                    any(isinstance(a, ast.Name) and a.id == "p" for a in node.args):
                found |= names(methods[function.attr])
        return found

    return {name: names(node) for name, node in methods.items() if name in OPERATIONS}


def fuzz(schema, base_url, headers):
    """Run every operation with generated requests, valid and invalid; the failures as text.

    No answer may be a 5xx but for exchange_unavailable (503: the recording has no candles, and
    only some of its pairs have books): a documented, retryable answer, not a failure of ours."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=EXAMPLES < 50,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call(base_url=base_url, headers=headers)
                label = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
                if response.status_code >= 500 and not (
                        response.status_code == 503 and response.json()["error"]["kind"] == "exchange_unavailable"):
                    failures.append(f"{label}: {response.status_code} {response.text[:300]}")
                try:
                    case.validate_response(response, checks=checks)
                except FailureGroup as failure:
                    failures.append(f"{label}: {failure}")

            run()
    return failures
