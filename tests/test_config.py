import json
import re
import sys
import tempfile
import unittest
from dataclasses import is_dataclass
from decimal import Decimal
from pathlib import Path
from unittest import mock

from exchange_wrapper.config import Settings, env_variables, load_settings, schema, tls_context, to_json
from exchange_wrapper.core.errors import ConfigError
from exchange_wrapper.exchanges import EXCHANGE_NAMES

from .certificates import make_certificates

ROOT = Path(__file__).resolve().parent.parent


def load_text(text: str, env=None, overrides=None) -> Settings:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(text)
    try:
        return load_settings(handle.name, env=env or {}, overrides=overrides)
    finally:
        Path(handle.name).unlink()


def leaf_keys() -> list[str]:
    return [key for key, _, kind in schema() if not is_dataclass(kind)]


class SampleAndDocsTest(unittest.TestCase):
    def test_sample_holds_every_key_with_the_defaults(self):
        sample = json.loads((ROOT / "settings-sample.json").read_text())
        self.assertEqual(sample, to_json(Settings(), hide_secrets=False))
        settings = load_settings(ROOT / "settings-sample.json", env={})
        self.assertEqual(settings, Settings())

    def test_docs_list_every_key_and_variable(self):
        docs = (ROOT / "docs" / "configuration.md").read_text()
        for key in leaf_keys():
            generic = re.sub(rf"^exchanges\.({'|'.join(EXCHANGE_NAMES)})\.", "exchanges.NAME.", key)
            self.assertIn(f"`{generic}`", docs, key)
        for _key, variable, _ in env_variables():
            generic = re.sub(rf"^XWRAP_({'|'.join(n.upper() for n in EXCHANGE_NAMES)})_", "XWRAP_NAME_", variable)
            self.assertIn(f"`{generic}`", docs, variable)
        for token_key in ("name", "token", "scope"):
            self.assertIn(f"`tokens[].{token_key}`", docs)


class LoadTest(unittest.TestCase):
    def test_defaults(self):
        settings = load_settings(None, env={})
        self.assertEqual(settings.server.host, "127.0.0.1")
        self.assertEqual(settings.database_url, "sqlite:///data/xwrap.sqlite")
        self.assertEqual(settings.exchanges.binance.pairs, ["BTC_USDT", "ETH_USDT", "SOL_USDT"])
        self.assertEqual(settings.paper.market_buy_margin, Decimal("0.05"))

    def test_file_values_and_decimals_stay_exact(self):
        settings = load_text(
            '{"paper": {"market_buy_margin": "0.1000000000000000055511151231257827"},'
            ' "exchanges": {"kraken": {"fees": {"maker": "0.0016"}}}}'
        )
        self.assertEqual(settings.paper.market_buy_margin, Decimal("0.1000000000000000055511151231257827"))
        self.assertEqual(settings.exchanges.kraken.fees.maker, Decimal("0.0016"))
        self.assertIsNone(settings.exchanges.kraken.fees.taker)

    def test_environment_overrides_file_and_command_line_overrides_both(self):
        env = {
            "XWRAP_SERVER_PORT": "9100",
            "XWRAP_BINANCE_API_SECRET": "s3cret",
            "XWRAP_COINBASE_PAIRS": "BTC_USD, ETH_BTC",
            "XWRAP_KRAKEN_ENABLED": "false",
            "XWRAP_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        }
        settings = load_text('{"server": {"port": 9000}}', env=env)
        self.assertEqual(settings.server.port, 9100)
        self.assertEqual(settings.exchanges.binance.api_secret, "s3cret")
        self.assertEqual(settings.exchanges.coinbase.pairs, ["BTC_USD", "ETH_BTC"])
        self.assertFalse(settings.exchanges.kraken.enabled)
        settings = load_text("{}", env=env, overrides={"server.port": 9200, "server.host": None})
        self.assertEqual(settings.server.port, 9200)
        self.assertEqual(settings.server.host, "127.0.0.1")

    def test_secrets_from_the_environment_alone_enable_live_mode(self):
        env = {
            "XWRAP_COINBASE_MODE": "live",
            "XWRAP_COINBASE_API_KEY": "k",
            "XWRAP_COINBASE_API_SECRET": "c2VjcmV0",
            "XWRAP_COINBASE_PASSPHRASE": "p",
        }
        settings = load_settings(None, env=env)
        self.assertEqual(settings.exchanges.coinbase.mode, "live")
        shown = json.dumps(to_json(settings))
        self.assertNotIn("c2VjcmV0", shown)
        self.assertEqual(to_json(settings)["exchanges"]["coinbase"]["api_secret"], "***")

    def test_passwords_in_urls_are_hidden(self):
        env = {
            "XWRAP_DATABASE_URL": "postgresql://xw:pg-s3cret@db:5432/xwrap",
            "XWRAP_TIMESERIES_INFLUXDB_URL": "http://admin:influx-s3cret@127.0.0.1:8086/?token=t0ken-s3cret",
            "XWRAP_KRAKEN_REST_URL": "http://127.0.0.1:9/?password=rest-s3cret&depth=10",
        }
        shown = to_json(load_settings(None, env=env))
        self.assertEqual(shown["database_url"], "postgresql://xw:***@db:5432/xwrap")
        self.assertEqual(shown["timeseries"]["influxdb"]["url"], "http://admin:***@127.0.0.1:8086/?token=***")
        self.assertEqual(shown["exchanges"]["kraken"]["rest_url"], "http://127.0.0.1:9/?password=***&depth=10")
        self.assertNotIn("s3cret", json.dumps(shown))
        self.assertIn("pg-s3cret", json.dumps(to_json(load_settings(None, env=env), hide_secrets=False)))

    def test_tokens_from_the_environment(self):
        env = {
            "XWRAP_TOKENS": '[{"name": "bot", "token": "0123456789abcdef0123", "scope": "trade"}]',
            "XWRAP_SERVER_HOST": "0.0.0.0",
        }
        settings = load_settings(None, env=env)
        self.assertEqual(settings.tokens[0].scope, "trade")
        self.assertEqual(settings.server.host, "0.0.0.0")


class ValidationTest(unittest.TestCase):
    def assertConfigError(self, text, key, expected, env=None):
        with self.assertRaises(ConfigError) as caught:
            load_text(text, env=env)
        message = str(caught.exception)
        self.assertEqual(caught.exception.key, key)
        self.assertIn(expected, message)
        self.assertNotIn("\n", message)
        return message

    def test_rates_are_decimal_strings_in_ascii_digits_as_in_the_api(self):
        for value in ("0.1", "1", "1e400", "true"):  # JSON numbers, whatever their type once read
            with self.subTest(value=value):
                self.assertConfigError(
                    f'{{"paper": {{"market_buy_margin": {value}}}}}',
                    "paper.market_buy_margin",
                    "decimal string in ASCII digits",
                )
        for text in ("\u0660.\u0665", "\uff10.\uff15"):
            with self.subTest(text=text):
                self.assertConfigError(
                    json.dumps({"exchanges": {"kraken": {"fees": {"taker": text}}}}),
                    "exchanges.kraken.fees.taker",
                    "ASCII digits",
                )
                self.assertConfigError(
                    "{}", "exchanges.kraken.fees.taker", "ASCII digits", env={"XWRAP_KRAKEN_FEES_TAKER": text}
                )

    def test_an_integer_too_long_to_read_is_a_config_error(self):
        self.assertConfigError('{"server": {"port": %s}}' % ("1" * 4301), "--config", "at most 4300 digits")
        self.assertConfigError(
            "{}",
            "XWRAP_SERVER_CORS_ORIGINS",
            "at most 4300 digits",
            env={"XWRAP_SERVER_CORS_ORIGINS": "[%s]" % ("1" * 4301)},
        )

    def test_cluster_mode_needs_postgresql_and_a_redis_url(self):
        self.assertConfigError(
            '{"cluster": {"node": "a"}}', "database_url", "a postgresql:// database for cluster mode"
        )
        postgres = '"database_url": "postgresql://xw@db/xwrap"'
        self.assertConfigError(
            f'{{{postgres}, "cluster": {{"node": "a", "redis": "127.0.0.1:6379"}}}}', "cluster.redis", "redis://"
        )
        self.assertConfigError(
            f'{{{postgres}, "cluster": {{"node": "a", "lease_seconds": 0}}}}', "cluster.lease_seconds", "at least 1"
        )
        live = '"binance": {"mode": "live", "api_key": "k", "api_secret": "s"}'
        live_node = load_text(f'{{{postgres}, "exchanges": {{{live}}}, "cluster": {{"node": "a"}}}}')
        self.assertEqual(live_node.exchange("binance").mode, "live")  # its account runs where its lease is
        settings = load_text(f'{{{postgres}, "cluster": {{"node": "a", "lease_seconds": 4}}}}')
        self.assertEqual((settings.cluster.node, settings.cluster.lease_seconds), ("a", 4))

    def test_unknown_key(self):
        self.assertConfigError('{"server": {"prot": 1}}', "server.prot", "no such key")
        self.assertConfigError('{"exchanges": {"ftx": {}}}', "exchanges.ftx", "no such key")

    def test_wrong_types(self):
        self.assertConfigError('{"server": {"port": "80"}}', "server.port", "expected an integer")
        self.assertConfigError('{"server": {"port": true}}', "server.port", "expected an integer")
        self.assertConfigError(
            '{"exchanges": {"binance": {"enabled": 1}}}', "exchanges.binance.enabled", "true or false"
        )
        self.assertConfigError(
            '{"exchanges": {"binance": {"mode": "real"}}}', "exchanges.binance.mode", "one of 'paper', 'live'"
        )
        self.assertConfigError('{"exchanges": {"binance": {"pairs": "BTC_USDT"}}}', "exchanges.binance.pairs", "a list")
        self.assertConfigError(
            '{"exchanges": {"binance": {"pairs": ["BTCUSDT"]}}}', "exchanges.binance.pairs[0]", "a pair such as"
        )
        self.assertConfigError(
            '{"paper": {"market_buy_margin": "-1"}}', "paper.market_buy_margin", "non-negative decimal"
        )
        self.assertConfigError('{"database_url": "mysql://x"}', "database_url", "sqlite:///PATH")
        message = self.assertConfigError(
            '{"database_url": "postgres1://xw:pg-s3cret@db/x"}', "database_url", "sqlite:///PATH"
        )
        self.assertIn("postgres1://xw:***@db/x", message)
        message = self.assertConfigError(
            '{"exchanges": {"kraken": {"api_secret": 1234567890123}}}', "exchanges.kraken.api_secret", "a string"
        )
        self.assertNotIn("1234567890123", message)
        message = self.assertConfigError('{"tokens": ["0123456789abcdef0123"]}', "tokens[0]", "an object")
        self.assertNotIn("0123456789abcdef0123", message)
        message = self.assertConfigError(
            "{}", "XWRAP_TOKENS", "a JSON list", env={"XWRAP_TOKENS": '[{"name": "a", "token": "0123456789abcdef0123"'}
        )
        self.assertNotIn("0123456789abcdef0123", message)
        self.assertConfigError("[1]", "(top level)", "a JSON object")

    def test_environment_value_of_wrong_type_names_the_variable(self):
        self.assertConfigError("{}", "XWRAP_SERVER_PORT", "an integer", env={"XWRAP_SERVER_PORT": "eighty"})
        for text in ("\uff18\uff13\uff15\uff10", "\u0668\u0663\u0665\u0660", "8_350"):  # int() reads them
            with self.subTest(text=text):
                self.assertConfigError("{}", "XWRAP_SERVER_PORT", "an integer", env={"XWRAP_SERVER_PORT": text})
        self.assertConfigError("{}", "XWRAP_SERVER_PORT", "at most 4300 digits", env={"XWRAP_SERVER_PORT": "1" * 4301})

    def test_missing_secret_for_live_exchange(self):
        message = self.assertConfigError(
            '{"exchanges": {"binance": {"mode": "live", "api_key": "k"}}}',
            "exchanges.binance.api_secret",
            "XWRAP_BINANCE_API_SECRET",
        )
        self.assertIn("live trading", message)
        self.assertConfigError(
            '{"exchanges": {"coinbase": {"mode": "live", "api_key": "k", "api_secret": "s"}}}',
            "exchanges.coinbase.passphrase",
            "live trading",
        )
        # a disabled exchange needs no keys
        load_text('{"exchanges": {"binance": {"mode": "live", "enabled": false}}}')

    def test_public_address_needs_a_token(self):
        self.assertConfigError('{"server": {"host": "0.0.0.0"}}', "tokens", "at least one API token")

    def test_tokens_must_be_long_and_distinct_and_are_not_shown(self):
        message = self.assertConfigError(
            '{"tokens": [{"name": "a", "token": "short"}]}', "tokens[0].token", "at least 16 characters"
        )
        self.assertNotIn("short", message)
        token = '{"name": "a", "token": "0123456789abcdef"}'
        self.assertConfigError(f'{{"tokens": [{token}, {token}]}}', "tokens[1].token", "different")
        self.assertConfigError('{"tokens": [{"name": "a"}]}', "tokens[0].token", "a value")

    def test_the_ccxt_entry_names_an_exchange_ccxt_knows(self):
        ccxt = '{"exchanges": {"ccxt": {"enabled": true%s}}}'
        self.assertConfigError(ccxt % "", "exchanges.ccxt.exchange_id", "a ccxt exchange id such as kucoin")
        message = self.assertConfigError(
            ccxt % ', "exchange_id": "kukoin"', "exchanges.ccxt.exchange_id", "an exchange id of ccxt.exchanges"
        )
        self.assertIn("got 'kukoin'", message)
        with mock.patch.dict(sys.modules, {"ccxt": None}):  # the extra not installed: import ccxt fails
            message = self.assertConfigError(ccxt % ', "exchange_id": "kucoin"', "exchanges.ccxt.exchange_id", "")
        self.assertEqual(
            message, "setting exchanges.ccxt.exchange_id: expected the ccxt extra installed: pip install 'xwrap[ccxt]'"
        )
        live = ', "exchange_id": "kucoin", "mode": "live", "api_key": "k", "api_secret": "s"'
        self.assertConfigError(ccxt % live, "exchanges.ccxt.passphrase", "a value for live trading (kucoin has one)")
        self.assertConfigError(ccxt % ', "exchange_id": "binance", "mode": "live"', "exchanges.ccxt.api_key", "a value")
        self.assertEqual(load_text(ccxt % (live + ', "passphrase": "p"'), env={}).exchanges.ccxt.mode, "live")
        self.assertConfigError('{"exchanges": {"ccxt": {"poll_seconds": "0"}}}', "exchanges.ccxt.poll_seconds", "more")
        settings = load_text(ccxt % ', "exchange_id": "kucoin"', env={"XWRAP_CCXT_PAIRS": "BTC_USDT"})
        self.assertEqual((settings.exchanges.ccxt.exchange_id, settings.exchanges.ccxt.pairs), ("kucoin", ["BTC_USDT"]))
        self.assertFalse(load_settings(None, env={}).exchanges.ccxt.enabled)  # off unless asked for

    def test_unreadable_and_malformed_files(self):
        with self.assertRaises(ConfigError) as caught:
            load_settings("/nonexistent/settings.json", env={})
        self.assertEqual(caught.exception.key, "--config")
        self.assertConfigError('{"server": ', "--config", "valid JSON (line 1")


if __name__ == "__main__":
    unittest.main()


class TlsSettingsTest(unittest.TestCase):
    """server.tls_certificate and server.tls_key are read at start: each wrong one named, with why."""

    def setUp(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.files = make_certificates(Path(folder.name))

    def load(self, certificate, key):
        return load_settings(None, env={}, overrides={"server.tls_certificate": certificate, "server.tls_key": key})

    def test_a_certificate_and_its_key_load(self):
        settings = self.load(self.files["server_pem"], self.files["server_key"])
        self.assertEqual(settings.server.tls_key, self.files["server_key"])
        self.assertIsNone(tls_context(load_settings(None, env={}).server))  # plain HTTP by default

    def test_each_wrong_file_is_named_with_what_was_expected(self):
        files = self.files
        missing = str(Path(files["server_pem"]).with_name("missing.pem"))
        for certificate, key, field, expected in [
            (files["server_pem"], "", "server.tls_key", "a file with server.tls_certificate (both or neither)"),
            ("", files["server_key"], "server.tls_certificate", "a file with server.tls_key (both or neither)"),
            (missing, files["server_key"], "server.tls_certificate", "a readable file (No such file or directory)"),
            (files["server_pem"], missing, "server.tls_key", "a readable file (No such file or directory)"),
            (files["server_key"], files["server_key"], "server.tls_certificate", "a PEM certificate"),
            (files["server_pem"], files["other_key"], "server.tls_key", "the private key of server.tls_certificate"),
            (files["server_pem"], files["encrypted_key"], "server.tls_key", "an unencrypted PEM private key"),
            (files["server_pem"], files["ca_pem"], "server.tls_key", "an unencrypted PEM private key"),
        ]:
            with self.subTest(certificate=certificate, key=key):
                with self.assertRaises(ConfigError) as raised:
                    self.load(certificate, key)
                self.assertEqual(raised.exception.key, field)
                self.assertTrue(raised.exception.expected.startswith(expected), raised.exception.expected)


class AlertsSettingsTest(unittest.TestCase):
    """alerts.rules: each mistake named by its key; webhook URLs and the SMTP password never shown."""

    def rules(self, *rules, **alerts):
        return json.dumps({"alerts": {"rules": list(rules), **alerts}})

    def assertConfigError(self, text, key, expected, env=None):
        with self.assertRaises(ConfigError) as caught:
            load_text(text, env=env)
        self.assertEqual(caught.exception.key, key)
        self.assertIn(expected, str(caught.exception))
        return str(caught.exception)

    def test_a_rule_and_its_actions_read_with_their_defaults(self):
        settings = load_text(
            self.rules(
                {"name": "feed", "condition": "exchange_unhealthy", "for_seconds": "60"},
                {
                    "name": "dd",
                    "condition": "drawdown",
                    "limit": "0.1",
                    "actions": [{"type": "slack", "url": "https://h/x"}],
                },
            )
        )
        feed, dd = settings.alerts.rules
        self.assertEqual(
            (feed.for_seconds, feed.repeat_seconds, feed.clear_seconds), (Decimal(60), Decimal(3600), Decimal(300))
        )
        self.assertEqual([action.type for action in feed.actions], ["log"])
        self.assertEqual(
            (dd.limit, dd.actions[0].retries, dd.actions[0].timeout_seconds), (Decimal("0.1"), 3, Decimal(10))
        )

    def test_mistakes_are_named_by_their_key(self):
        self.assertConfigError(
            self.rules({"name": "x", "condition": "exchange_down"}), "alerts.rules[0].condition", "one of"
        )
        self.assertConfigError(self.rules({"condition": "order_rejected"}), "alerts.rules[0].name", "a value")
        self.assertConfigError(
            self.rules({"name": "x", "condition": "order_rejected"}, {"name": "x", "condition": "book_not_live"}),
            "alerts.rules[1].name",
            "different from the other rules'",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "drawdown"}), "alerts.rules[0].limit", "a fraction"
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "drawdown", "limit": "1.5"}), "alerts.rules[0].limit", "at most 1"
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "limit": "0.1"}),
            "alerts.rules[0].limit",
            "only drawdown",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "exchange": "ftx"}),
            "alerts.rules[0].exchange",
            "coinbase",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "for_seconds": 60}),
            "alerts.rules[0].for_seconds",
            "decimal string",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": []}),
            "alerts.rules[0].actions",
            "at least one",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": [{"type": "pager"}]}),
            "alerts.rules[0].actions[0].type",
            "one of 'log', 'webhook', 'slack', 'email'",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": [{"type": "log", "retries": 11}]}),
            "alerts.rules[0].actions[0].retries",
            "from 0 to 10",
        )
        self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": [{"type": "email", "to": ["ops"]}]}),
            "alerts.rules[0].actions[0].to",
            "mail addresses",
        )
        self.assertConfigError(
            self.rules(
                {"name": "x", "condition": "book_not_live", "actions": [{"type": "email", "to": ["ops@x.org"]}]}
            ),
            "alerts.smtp.host",
            "a value for email actions",
        )
        self.assertConfigError(self.rules(interval_seconds="0"), "alerts.interval_seconds", "more than 0")

    def test_webhook_urls_and_the_smtp_password_are_never_shown(self):
        url = "ftp://hooks.example.com/T0/B0/s3cret-hook-token"
        message = self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": [{"type": "webhook", "url": url}]}),
            "alerts.rules[0].actions[0].url",
            "an http:// or https:// URL",
        )
        self.assertNotIn("s3cret-hook-token", message)
        message = self.assertConfigError(
            self.rules({"name": "x", "condition": "book_not_live", "actions": [{"type": "slack", "url": 12345678}]}),
            "alerts.rules[0].actions[0].url",
            "a string",
        )
        self.assertNotIn("12345678", message)
        settings = load_text(
            self.rules(
                {
                    "name": "x",
                    "condition": "book_not_live",
                    "actions": [{"type": "slack", "url": "https://h/s3cret-hook-token"}],
                },
                smtp={"host": "mail", "password": "smtp-s3cret"},
            ),
            env={},
        )
        shown = json.dumps(to_json(settings))
        self.assertNotIn("s3cret-hook-token", shown)
        self.assertNotIn("smtp-s3cret", shown)
        self.assertEqual(to_json(settings)["alerts"]["rules"][0]["actions"][0]["url"], "***")
        from_env = load_settings(None, env={"XWRAP_ALERTS_SMTP_PASSWORD": "smtp-s3cret"})
        self.assertEqual(from_env.alerts.smtp.password, "smtp-s3cret")
