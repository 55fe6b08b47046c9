"""The OpenAPI document: a valid OpenAPI 3.1 document, exactly the routes the service serves, and a
schemathesis fuzz of every operation against a live service on the recorded traffic: no 5xx, every
answer as documented. XWRAP_FUZZ=1 runs the fuzz much longer."""

import asyncio
import os
import re
from pathlib import Path

import jsonschema
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from exchange_wrapper.contract import ERROR_CODES, OPERATIONS
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.service.auth import Authenticator
from exchange_wrapper.service.health import Health
from exchange_wrapper.service.http import create_app
from exchange_wrapper.service.openapi import (
    CSV_ROUTES,
    DECIMAL_IN,
    LIVE_PATH,
    PREFIX,
    READY_PATH,
    RESULTS,
    ROUTES,
    SCHEMAS,
    document,
    parameter_table,
)
from exchange_wrapper.service.params import Params

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

    def test_the_documented_decimal_pattern_is_what_the_service_reads(self):
        """A client that checks amounts against the document sends what the service takes, and only that
        (the bounds on digits and places are the description's: a pattern cannot count them)."""
        pattern = re.compile(DECIMAL_IN["pattern"])
        for value in ("0.01", "1e-8", "1E+2", ".5", "5.", "007", "1.2.3", "e5", "-1", "1e", "abc", " 1", "1,5", "∞"):
            with self.subTest(value=value):
                try:
                    Params({"amount": value}).decimal("amount")
                    read = True
                except InvalidParameter:
                    read = False
                self.assertEqual(bool(pattern.fullmatch(value)), read)

    def test_every_operation_has_one_route_with_its_parameters_and_the_path_ones_required(self):
        self.assertEqual(sorted(route.operation for route in ROUTES), sorted(OPERATIONS))
        for route in ROUTES:
            rest = [param.name for param in OPERATIONS[route.operation].params if param.rest]
            self.assertEqual([param.name for param in route.params], rest, route.operation)
            required = {param.name for param in route.params if param.required}
            self.assertLessEqual(set(route.path_params), required, route.operation)

    def test_docs_api_md_documents_every_route_its_parameters_as_the_contract_and_every_error_kind(self):
        text = API_DOC.read_text()
        for route in ROUTES:
            heading = (
                f"### {route.operation}\n\n`{route.method} {route.full_path}` · JSON-RPC `{route.operation}` · "
                f"scope `{OPERATIONS[route.operation].scope}`\n\n{route.summary}"
            )
            self.assertIn(heading, text)
            section = text.split(heading)[1].split("\n### ")[0]
            if route.any_body:
                self.assertIn("Parameters: any JSON object", section)
            elif route.params:
                self.assertIn(
                    f"\n{parameter_table(route)}\n\n",
                    section,
                    f"{route.operation}: the table should be\n" + parameter_table(route),
                )
            else:
                self.assertIn("No parameters.", section)
        for kind, (code, status) in ERROR_CODES.items():
            self.assertIn(f"| `{kind}` | {code} | {status} |", text)

    async def test_every_operation_reads_exactly_the_parameters_of_its_contract(self):
        """The contract against api.py as it runs: each operation, given every parameter of its
        contract and one more, refuses that one and names as known exactly those it read."""
        sample = {
            "text": "x",
            "decimal": "1",
            "time": 1.0,
            "flag": True,
            "exchange": "coinbase",
            "pair": "BTC_USD",
            "currency": "BTC",
            "order_id": "1",
            "allocations": [],
        }
        for name, operation in OPERATIONS.items():
            if operation.any_params:
                continue
            values = {
                param.name: param.minimum
                if param.kind == "integer"
                else param.choices[0]
                if param.kind == "choice"
                else sample[param.kind]
                for param in operation.params
            }
            with self.subTest(name):
                with self.assertRaises(InvalidParameter) as caught:
                    await self.server.api.call(name, {**values, "unexpected": "x"})
                self.assertEqual(
                    (caught.exception.field, caught.exception.expected),
                    ("unexpected", f"no such parameter (known: {', '.join(sorted(values))})"),
                )

    async def test_every_operation_answers_as_the_result_type_of_its_contract_says(self):
        """One successful call of each operation, its answer checked against the schema made of its
        result's TypedDict: every field there, of its type."""
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        other = (await self.ok("POST", f"{PREFIX}/wallet_sets", {"name": "other"}, token=TRADE_TOKEN))["id"]
        order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD", "size": "10"}
        await self.ok("POST", f"{PREFIX}/orders", {**order, "side": "buy", "type": "market"}, token=TRADE_TOKEN)
        bid = (await self.ok("GET", f"{PREFIX}/book?exchange=coinbase&pair=SKL_USD", token=TRADE_TOKEN))["bids"][0][0]
        resting = {**order, "side": "buy", "price": bid}
        calls = [
            ("echo", "POST", "/echo", {"a": [1, "b"]}),
            ("get_status", "GET", "/status", None),
            ("get_exchanges", "GET", "/exchanges", None),
            ("get_markets", "GET", "/markets?exchange=coinbase", None),
            ("get_pricing", "GET", "/pricing", None),
            ("get_book", "GET", "/book?exchange=coinbase&pair=SKL_USD", None),
            ("get_trades", "GET", "/trades?exchange=coinbase&pair=SKL_USD", None),
            ("get_ohlc", "GET", "/ohlc?exchange=coinbase&pair=SKL_USD&start=0", None),
            ("get_book_tops", "GET", "/book_tops?exchange=coinbase&pair=SKL_USD&start=0", None),
            ("make_order", "POST", "/orders", resting),
            ("get_orders", "GET", f"/orders?wallet_set_id={ws}&status=recent", None),
            ("get_order", "GET", "/orders/2", None),
            ("amend_order", "POST", "/orders/2/amend", {"size": "20"}),
            ("cancel_order", "POST", "/orders/2/cancel", None),
            ("get_fills", "GET", f"/fills?wallet_set_id={ws}", None),
            ("cancel_all_orders", "POST", "/orders/cancel_all", {"wallet_set_id": ws}),
            (
                "create_wallet_set",
                "POST",
                "/wallet_sets",
                {"name": "third", "allocations": [{"exchange": "coinbase", "currency": "USD", "amount": "2"}]},
            ),
            ("get_wallet_sets", "GET", "/wallet_sets", None),
            ("get_wallet_set", "GET", f"/wallet_sets/{ws}", None),
            ("get_wallet", "GET", f"/wallet_sets/{ws}/wallets?exchange=coinbase&currency=SKL", None),
            (
                "fund_wallet_set",
                "POST",
                f"/wallet_sets/{other}/fund",
                {"exchange": "coinbase", "currency": "USD", "amount": "5"},
            ),
            (
                "transfer",
                "POST",
                "/transfers",
                {
                    "from_wallet_set_id": ws,
                    "to_wallet_set_id": other,
                    "exchange": "coinbase",
                    "currency": "USD",
                    "amount": "1",
                },
            ),
            ("get_pnl", "GET", f"/wallet_sets/{ws}/pnl?currency=BTC", None),
            ("get_wallet_history", "GET", f"/wallet_sets/{ws}/history?start=0", None),
            (
                "withdraw",
                "POST",
                f"/wallet_sets/{other}/withdraw",
                {"exchange": "coinbase", "currency": "USD", "amount": "2"},
            ),
            ("close_wallet_set", "POST", f"/wallet_sets/{other}/close", None),
            ("get_statement", "GET", f"/wallet_sets/{ws}/statement?currency=USD", None),
            ("get_accounts", "GET", "/accounts", None),
            ("get_alerts", "GET", "/alerts", None),
        ]
        # advance_replay answers only on a stepped replay (tests/history/test_api.py)
        self.assertEqual({call[0] for call in calls}, set(OPERATIONS) - {"advance_replay"})
        for operation, method, path, body in calls:
            with self.subTest(operation):
                answer = await self.ok(method, PREFIX + path, body, token=TRADE_TOKEN)
                jsonschema.validate(answer, {**RESULTS[operation], "components": {"schemas": SCHEMAS}})

    async def test_a_csv_route_answers_its_table_with_the_documented_header_row(self):
        (route,) = CSV_ROUTES
        self.assertEqual(
            (route.operation, route.method, route.full_path),
            ("get_statement", "GET", f"{PREFIX}/wallet_sets/{{wallet_set_id}}/statement.csv"),
        )
        self.assertEqual(route.params, next(r for r in ROUTES if r.operation == "get_statement").params)
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        status, headers, text = await self.call("GET", f"{PREFIX}/wallet_sets/{ws}/statement.csv", token=TRADE_TOKEN)
        self.assertEqual((status, text.splitlines()[0]), (200, ",".join(route.csv_columns)))
        documented = document()["paths"][route.full_path]["get"]["responses"]["200"]
        self.assertEqual(list(documented["content"]), ["text/csv"])
        self.assertEqual(set(documented["headers"]), {"X-Xwrap-Wallet-Set-Id", "X-Xwrap-Next-Cursor"})

    async def test_the_served_routes_are_the_documented_ones(self):
        health = Health(self.server.api, self.server.exchanges_run)
        app = create_app(
            self.server.api, auth=Authenticator([]), metrics=self.server.metrics, bus=self.server.bus, health=health
        )
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


def fuzz(schema, base_url, headers):
    """Run every operation with generated requests, valid and invalid; the failures as text.

    No answer may be a 5xx but for exchange_unavailable (503: the recording has no candles, and
    only some of its pairs have books) and the readiness probe's 503 (the same pairs keep the
    exchange degraded): documented answers, not failures of ours."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # the probes take no parameter and no token: no request to them can be wrong
        probe = operation.path in (LIVE_PATH, READY_PATH)
        for mode in (GenerationMode.POSITIVE,) if probe else (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=EXAMPLES < 50,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call(base_url=base_url, headers=headers)
                label = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"
                if response.status_code >= 500 and not (
                    response.status_code == 503
                    and (case.path == READY_PATH or response.json()["error"]["kind"] == "exchange_unavailable")
                ):
                    failures.append(f"{label}: {response.status_code} {response.text[:300]}")
                try:
                    case.validate_response(response, checks=checks)
                except FailureGroup as failure:
                    failures.append(f"{label}: {failure}")

            run()
    return failures
