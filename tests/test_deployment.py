"""The deployment files (Containerfile, compose.yaml, deploy/kubernetes/) agree with the code.

They cannot run here (no container registry), so this reads them and cross-checks what they
name against what Airlock is: every command runs something that exists, every port is the one
gunicorn binds and the image exposes, every probe path is a health URL, every worker queue is
a queue the settings route to (and every queue has a worker), there is exactly one beat, and
every environment variable they set is one the settings read.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "deploy" / "kubernetes"
# Read by libraries rather than by airlock/settings/: boto3 (credentials) and gunicorn (processes).
READ_ELSEWHERE = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WEB_CONCURRENCY"}
REQUIRED_IN_PRODUCTION = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "STORAGE_URL"}
QUEUES = set(settings.CELERY_TASK_QUEUES)


def settings_variables() -> set[str]:
    source = "".join(path.read_text() for path in (ROOT / "airlock" / "settings").glob("*.py"))
    return set(
        re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', source)
        + re.findall(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"', source)
    )


def containerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction, continuation lines joined."""
    text = (ROOT / "Containerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def final_stage() -> list[tuple[str, str]]:
    instructions = containerfile()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def instruction(name: str) -> list[str]:
    return [arguments for found, arguments in final_stage() if found == name]


def exposed_port() -> int:
    [port] = instruction("EXPOSE")
    return int(port)


def image_uid() -> int:
    [user] = instruction("USER")
    return int(user.split(":")[0])


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def airlock_services() -> dict[str, dict]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image") == "localhost/airlock:latest"
    }


def manifests() -> list[dict]:
    documents = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def containers(kind: str | None = None) -> list[tuple[dict, dict]]:
    found = []
    for document in manifests():
        if document["kind"] in {"Deployment", "Job"} and kind in (None, document["kind"]):
            for container in document["spec"]["template"]["spec"]["containers"]:
                found.append((document, container))
    return found


def option(command: list[str], *names: str) -> str:
    for i, word in enumerate(command):
        for name in names:
            if word == name:
                return command[i + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    raise AssertionError(f"{command} has no {names}")


def kind_of(command: list[str]) -> str:
    if command[0] == "gunicorn":
        assert command[1] == "airlock.wsgi:application"
        return "web"
    if command[:3] == ["celery", "-A", "airlock"]:
        assert command[3] in {"worker", "beat"}, command
        return command[3]
    if command[:2] == ["python", "manage.py"]:
        return command[2]
    raise AssertionError(f"unknown command {command}")


def dotenv_names(path: Path) -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    }


# --- The image -------------------------------------------------------------------------------


def test_the_image_is_multi_stage_and_runs_as_an_unprivileged_user():
    stages = [arguments for name, arguments in containerfile() if name == "FROM"]

    assert len(stages) >= 2
    assert image_uid() >= 1000
    assert any("--from=build" in arguments for arguments in instruction("COPY"))
    copied = " ".join(instruction("COPY"))
    for folder in ("airlock", "devices", "reviews", "templates", "static", "manage.py"):
        assert folder in copied


def test_the_image_serves_gunicorn_on_the_port_it_exposes():
    [cmd] = instruction("CMD")
    command = yaml.safe_load(cmd)

    assert kind_of(command) == "web"
    assert option(command, "--bind") == f"0.0.0.0:{exposed_port()}"


def test_the_image_collects_static_files_with_production_settings(tmp_path):
    """Run the Containerfile's collectstatic step as written (into a scratch folder): the
    production settings must accept its values, and WhiteNoise gets hashed, compressed files."""
    [step] = [run for run in instruction("RUN") if "collectstatic" in run]
    assignments = dict(re.findall(r"([A-Z_]+)=(\S+)", step.split("python manage.py")[0]))
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env |= {"AIRLOCK_ENV": "production", "STATIC_ROOT": str(tmp_path / "static"), **assignments}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'collectstatic.sqlite3'}"

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "css").glob("airlock.*.css.gz"))


def our_apps() -> set[str]:
    """The project's own apps: those in INSTALLED_APPS with a folder at the top of the repo."""
    return {app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()}


def test_the_image_and_the_package_carry_every_app_of_ours():
    # A new app left out of either runs in the tests and fails in the image.
    stages: list[set[str]] = []
    for name, args in containerfile():
        if name == "FROM":
            stages.append(set())
        elif name == "COPY":
            stages[-1].add(args.split()[0])
    packaged = set(re.findall(r'"([a-z_]+)\*"', (ROOT / "pyproject.toml").read_text()))
    # The build stage installs the package; the final stage runs the code from /app.
    assert [our_apps() - copied for copied in stages] == [set(), set()]
    assert our_apps() - packaged == set()


def test_the_build_context_leaves_out_local_state():
    for name in (".containerignore", ".dockerignore"):
        ignored = (ROOT / name).read_text().splitlines()
        assert {".venv", "var", ".git", "tests"} <= set(ignored)


# --- compose.yaml ----------------------------------------------------------------------------


def test_compose_runs_web_workers_for_every_queue_one_beat_and_the_migrations():
    kinds: dict[str, list[list[str]]] = {}
    for service in airlock_services().values():
        kinds.setdefault(kind_of(service["command"]), []).append(service["command"])

    assert len(kinds["web"]) >= 2
    assert len(kinds["beat"]) == 1
    assert len(kinds["migrate"]) == 1
    served = [set(option(c, "-Q", "--queues").split(",")) for c in kinds["worker"]]
    assert set().union(*served) == QUEUES
    assert all(queues <= QUEUES for queues in served)
    for command in kinds["web"]:
        assert option(command, "--bind") == f"0.0.0.0:{exposed_port()}"


def test_compose_sets_only_variables_airlock_reads_and_every_one_production_needs():
    known = settings_variables() | READ_ELSEWHERE
    for name, service in airlock_services().items():
        variables = set(service["environment"])
        assert variables <= known, f"{name}: unknown {sorted(variables - known)}"
        assert variables >= REQUIRED_IN_PRODUCTION, name
    assert dotenv_names(ROOT / "deploy" / "compose.example.env") >= {"SECRET_KEY"}


def test_compose_wires_the_store_the_proxy_and_the_health_check_together():
    services = compose()["services"]
    environment = airlock_services()["web-1"]["environment"]
    bucket = services["minio-bucket"]["command"][-1].split("/", 1)[1]
    assert environment["STORAGE_URL"].startswith(f"s3://{bucket}?endpoint_url=http://minio:9000")
    proxy = services["proxy"]["command"]
    origin = option(proxy, "--from")
    assert origin in environment["CSRF_TRUSTED_ORIGINS"].split(",")
    assert origin == environment["SITE_URL"]
    upstreams = [proxy[i + 1] for i, word in enumerate(proxy) if word == "--to"]
    assert upstreams == [f"web-1:{exposed_port()}", f"web-2:{exposed_port()}"]
    probe = " ".join(services["web-1"]["healthcheck"]["test"])
    path = re.search(rf"http://localhost:{exposed_port()}(/[^']*)", probe).group(1)
    assert resolve(path).url_name == "healthz"


# --- Kubernetes ------------------------------------------------------------------------------


def test_every_container_runs_airlock_unprivileged_with_config_and_secrets_from_outside():
    for document, container in containers():
        assert container["image"] == "airlock"
        kind_of(container["command"])
        sources = {
            next(iter(source)): next(iter(source.values()))["name"]
            for source in container["envFrom"]
        }
        assert sources == {"configMapRef": "airlock-config", "secretRef": "airlock-secrets"}
        pod = document["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] == image_uid()
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_kubernetes_sets_only_variables_airlock_reads_and_every_one_production_needs():
    [config] = [doc for doc in manifests() if doc["kind"] == "ConfigMap"]
    secrets = dotenv_names(KUBERNETES / "secrets.example.env")
    inline = {env["name"] for _, container in containers() for env in container.get("env", [])}
    known = settings_variables() | READ_ELSEWHERE

    variables = set(config["data"]) | secrets | inline
    assert variables <= known, f"unknown: {sorted(variables - known)}"
    assert variables >= REQUIRED_IN_PRODUCTION
    assert not set(config["data"]) & {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}


def test_the_web_deployment_probes_the_health_urls_on_the_port_gunicorn_binds():
    [(web, container)] = [
        (doc, c) for doc, c in containers("Deployment") if kind_of(c["command"]) == "web"
    ]
    [config] = [doc for doc in manifests() if doc["kind"] == "ConfigMap"]
    [port] = container["ports"]
    assert port["containerPort"] == exposed_port()
    assert option(container["command"], "--bind") == f"0.0.0.0:{exposed_port()}"

    probes = {name: container[name] for name in container if name.endswith("Probe")}
    assert {name: resolve(p["httpGet"]["path"]).url_name for name, p in probes.items()} == {
        "startupProbe": "healthz",
        "livenessProbe": "healthz",
        "readinessProbe": "healthz-ready",
    }
    for probe in probes.values():
        assert probe["httpGet"]["port"] == port["name"]
        [host] = probe["httpGet"]["httpHeaders"]
        assert host["name"] == "Host"
        # Django answers 400 to a Host it does not know: the probe must send an allowed one.
        assert host["value"] in config["data"]["ALLOWED_HOSTS"].split(",")
    [service] = [doc for doc in manifests() if doc["kind"] == "Service"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_workers_serve_every_queue_and_exactly_one_beat_is_recreated_not_rolled():
    commands = [(doc, c["command"]) for doc, c in containers("Deployment")]
    served = [set(option(c, "-Q").split(",")) for _, c in commands if kind_of(c) == "worker"]
    beats = [doc for doc, c in commands if kind_of(c) == "beat"]

    assert set().union(*served) == QUEUES
    assert all(queues <= QUEUES for queues in served)
    [beat] = beats
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_a_job_runs_the_migrations():
    [(job, container)] = containers("Job")

    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_kustomize_applies_every_manifest_and_makes_the_secret():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    files = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}

    assert set(kustomization["resources"]) == files
    [secret] = kustomization["secretGenerator"]
    assert secret["name"] == "airlock-secrets"
    assert secret["envs"] == ["secrets.env"]
    assert [image["name"] for image in kustomization["images"]] == ["airlock"]


def test_the_documented_worker_commands_name_real_queues():
    """docs/DEPLOYMENT.md's commands, as a reader would copy them."""
    text = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    workers = [
        shlex.split(line.strip().lstrip("$ "))
        for line in text.splitlines()
        if line.strip().startswith("celery -A airlock worker")
    ]
    assert workers
    served = [set(option(words, "-Q").split(",")) for words in workers]
    assert set().union(*served) == QUEUES
