"""The checks of deploy/check that are easier in Python: `python3 deploy/checks.py NAME [ARGS]`.

Run from the repository root. `metrics`, `dashboard-rules` and `docker-context` use the
standard library only (they run even where the tools venv could not be made); the others need
PyYAML, which the venv has (kubernetes-validate depends on it). Each prints what is wrong, one
line per problem, and exits 1 when anything is.
"""

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path.cwd()
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
PROM = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "salon-crm.json"
METRIC_SOURCES = [ROOT / "web" / "src" / "metrics.rs", ROOT / "worker" / "src" / "metrics.rs"]
# Where the processes read their environment: every variable the manifests set must be here.
CONFIG_SOURCES = [ROOT / "shared" / "src", ROOT / "web" / "src", ROOT / "worker" / "src"]
# Read by a library rather than by name in our code (tracing's EnvFilter).
ENV_READ_ELSEWHERE = {"RUST_LOG"}
# Labels Prometheus adds to every series (job, instance), the histogram's `le`, and the ones
# our scrape configs add.
TARGET_LABELS = {"job", "instance", "le", "namespace", "node", "deployment", "__name__"}

problems = []


def problem(message):
    problems.append(message)


def finish(what, summary=None):
    """Prints the problems found, or the summary when there are none; exits 1 on problems."""
    for message in problems:
        print(f"  {what}: {message}")
    if summary and not problems:
        print(f"  {summary}")
    sys.exit(1 if problems else 0)


def load_yaml_documents(path):
    import yaml  # only the checks that need it import it

    with open(path, encoding="utf-8") as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


# ------------------------------------------------------------------ metrics


def code_metrics():
    """{metric name: set of label names}, read from the metric definitions in the Rust code.

    A definition is the quoted name followed, before the next definition, by its label list
    `&["a", "b"]` (or none, for a plain Gauge)."""
    metrics = {}
    for source in METRIC_SOURCES:
        text = source.read_text(encoding="utf-8")
        names = list(re.finditer(r'"(salon_[a-z0-9_]+)"', text))
        for i, match in enumerate(names):
            end = names[i + 1].start() if i + 1 < len(names) else len(text)
            labels = re.search(r"&\[([^\]]*)\]", text[match.end():end])
            metrics[match.group(1)] = set(re.findall(r'"([a-z_]+)"', labels.group(1))) if labels else set()
    if not metrics:
        problem(f"no metric definitions found in {', '.join(map(str, METRIC_SOURCES))}")
    return metrics


def strip_yaml_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def promql_sources():
    """(where, text) pairs of every PromQL expression or series selector we ship."""
    sources = []
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                sources.append((f"dashboard panel {panel.get('title')!r}", target["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            sources.append((f"dashboard variable {variable['name']}", query))
    # Comments are left out: they name metric families loosely (salon_outbox_*).
    sources.append(("alerts.yml", strip_yaml_comments((PROM / "alerts.yml").read_text(encoding="utf-8"))))
    for series in re.findall(r"series:\s*'([^']*)'", (PROM / "alerts_test.yml").read_text(encoding="utf-8")):
        sources.append(("alerts_test.yml input series", series))
    return sources


def histogram_base(name, metrics):
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)] in metrics:
            return name[: -len(suffix)]
    return None


def check_metrics():
    metrics = code_metrics()
    used = set()
    for where, text in promql_sources():
        # Names in the expression, each with the label matchers that follow it, if any.
        for match in re.finditer(r"\b(salon_[a-z0-9_]+)\b(\{[^}]*\})?", text):
            name, matchers = match.group(1), match.group(2) or ""
            base = name if name in metrics else histogram_base(name, metrics)
            if base is None:
                problem(f"{where}: metric {name} is not defined in web/src/metrics.rs or worker/src/metrics.rs")
                continue
            used.add(base)
            allowed = metrics[base] | TARGET_LABELS
            unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', matchers)
            for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", unquoted):
                if label not in allowed:
                    problem(f"{where}: {name} has no label {label!r} (it has: {', '.join(sorted(metrics[base]))})")
        # Grouping labels must belong to some metric of the same expression.
        names = {n if n in metrics else histogram_base(n, metrics) for n in re.findall(r"\b(salon_[a-z0-9_]+)", text)}
        allowed = set(TARGET_LABELS).union(*(metrics[n] for n in names if n))
        for clause in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text):
            for label in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", clause):
                if label not in allowed:
                    problem(f"{where}: grouping label {label!r} belongs to none of its metrics")
    finish("metrics", f"{len(used)} of {len(metrics)} metrics of the code used by the dashboard and the alert rules")


# ------------------------------------------------------------------ dashboard


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def check_dashboard_rules(out):
    """Checks the dashboard's shape and writes its queries as a rule file for promtool, which
    parses every expression (Grafana's variables replaced by values of the same kind)."""
    try:
        dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        problem(f"{DASHBOARD}: {error}")
        finish("dashboard")
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in dashboard:
            problem(f"no {key!r}")
    ids = [panel.get("id") for panel in all_panels(dashboard)]
    if len(ids) != len(set(ids)):
        problem("panel ids are not unique")
    variables = {v.get("name") for v in dashboard.get("templating", {}).get("list", [])}
    replacements = {
        "$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$route": ".*",
    }
    rules = []
    for panel in all_panels(dashboard):
        if panel.get("type") == "row":
            continue
        title = panel.get("title", "?")
        datasource = panel.get("datasource", {})
        if datasource.get("uid") != "${datasource}":
            problem(f"panel {title!r}: data source is not the ${{datasource}} variable")
        targets = panel.get("targets", [])
        if not targets:
            problem(f"panel {title!r}: no query")
        for target in targets:
            expr = target.get("expr", "")
            for variable in re.findall(r"\$\{?(\w+)", expr):
                if variable not in variables and f"${variable}" not in replacements:
                    problem(f"panel {title!r}: unknown variable ${variable}")
            for name, value in replacements.items():
                expr = expr.replace(name, value)
            rules.append({"record": f"dashboard:panel_{panel.get('id')}_{target.get('refId', 'A')}", "expr": expr})
    with open(out, "w", encoding="utf-8") as file:
        # JSON is YAML: promtool reads it, and no YAML library is needed here.
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, file, indent=1)
    finish("dashboard", f"{len(rules)} queries in {sum(1 for p in all_panels(dashboard) if p.get('type') != 'row')} panels")


# ------------------------------------------------------------------ alert tests


def check_alert_coverage():
    """Every alert is unit-tested both firing and silent."""
    alerts = [
        rule["alert"]
        for group in load_yaml_documents(PROM / "alerts.yml")[0]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    firing, silent = set(), set()
    for test in load_yaml_documents(PROM / "alerts_test.yml")[0]["tests"]:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    for alert in alerts:
        if alert not in firing:
            problem(f"{alert} is never tested firing in alerts_test.yml")
        if alert not in silent:
            problem(f"{alert} is never tested silent (exp_alerts: []) in alerts_test.yml")
        runbook = f"### {alert}"
        if runbook not in (DEPLOY / "README.md").read_text(encoding="utf-8"):
            problem(f"{alert} has no runbook in deploy/README.md (a heading `{runbook}`)")
    for name in (firing | silent) - set(alerts):
        problem(f"alerts_test.yml tests {name}, which alerts.yml does not define")
    finish("alert coverage", f"{len(alerts)} alerts, each tested firing and silent, each with a runbook")


# ------------------------------------------------------------------ Prometheus on Kubernetes


def write_prometheus_without_kubernetes_sd(out_dir):
    """A copy of prometheus-kubernetes.yml with each kubernetes_sd_configs replaced by a static
    target, beside a copy of alerts.yml: for a promtool built without Kubernetes discovery
    (Debian's), which then still checks everything else, the rule files included."""
    import yaml

    config = load_yaml_documents(PROM / "prometheus-kubernetes.yml")[0]
    for job in config.get("scrape_configs", []):
        if job.pop("kubernetes_sd_configs", None) is not None:
            job.setdefault("static_configs", []).append({"targets": ["kubernetes-sd.invalid:80"]})
    out = Path(out_dir)
    with open(out / "prometheus-kubernetes.yml", "w", encoding="utf-8") as file:
        yaml.safe_dump(config, file, sort_keys=False)
    for rule_file in config.get("rule_files", []):
        shutil.copy(PROM / rule_file, out / rule_file)


def check_prometheus_jobs():
    """Both scrape configs name the jobs the alert rules expect."""
    rules = (PROM / "alerts.yml").read_text(encoding="utf-8")
    expected = {job for value in re.findall(r'job=~?"([^"]+)"', rules) for job in value.split("|")}
    for config_file in ("prometheus.yml", "prometheus-kubernetes.yml"):
        config = load_yaml_documents(PROM / config_file)[0]
        jobs = {job["job_name"] for job in config.get("scrape_configs", [])}
        for job in sorted(expected - jobs):
            problem(f"{config_file} has no scrape job {job}, which alerts.yml expects")
        if "alerts.yml" not in config.get("rule_files", []):
            problem(f"{config_file} does not load alerts.yml")
    finish("prometheus jobs")


# ------------------------------------------------------------------ Kubernetes


def kubernetes_objects():
    objects = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_yaml_documents(path):
            objects.append((path.name, doc))
    return objects


def check_kustomization():
    """kustomization.yaml lists every manifest but the Secret template, and nothing else."""
    kustomization = load_yaml_documents(K8S / "kustomization.yaml")[0]
    listed = kustomization.get("resources", [])
    for resource in listed:
        if not (K8S / resource).is_file():
            problem(f"kustomization.yaml lists {resource}, which does not exist")
    for path in sorted(K8S.glob("*.yaml")):
        if path.name in ("kustomization.yaml", "secret.example.yaml"):
            continue
        if path.name not in listed:
            problem(f"{path.name} is not listed in kustomization.yaml")
    if "secret.example.yaml" in listed:
        problem("kustomization.yaml must not apply secret.example.yaml (placeholders)")
    finish("kustomization")


def env_names_read_by_code():
    names = set(ENV_READ_ELSEWHERE)
    for source_dir in CONFIG_SOURCES:
        for path in source_dir.rglob("*.rs"):
            names.update(re.findall(r'"([A-Z][A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def dockerfile_uid():
    match = re.search(r"--uid (\d+)", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    return int(match.group(1)) if match else None


def rust_constant(path, pattern, what):
    match = re.search(pattern, (ROOT / path).read_text(encoding="utf-8"))
    if not match:
        problem(f"cannot find {what} in {path} (update deploy/checks.py if it moved)")
        return None
    return int(match.group(1))


def check_kubernetes_consistency():
    """What the schemas cannot see: references between objects, the pods' security settings,
    environment variable names, and grace periods against the processes' own shutdown."""
    objects = kubernetes_objects()
    by_kind = {}
    for file_name, obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = (file_name, obj)
    config_maps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    if not secrets:
        problem("no Secret template (secret.example.yaml)")
    secret_keys = {
        name: set((obj.get("stringData") or {}) | (obj.get("data") or {})) for name, (_, obj) in secrets.items()
    }
    known_env = env_names_read_by_code()
    # Keys commented out in the ConfigMap and the Secret template are documentation the
    # operator copies: they must be real names too.
    for file_name in ("configmap.yaml", "secret.example.yaml"):
        text = (K8S / file_name).read_text(encoding="utf-8")
        names = re.findall(r"^\s*([A-Z][A-Z0-9_]+):", text, re.M)
        # Commented-out keys: `# NAME_WITH_UNDERSCORE: …` (prose comments have no such word).
        names += re.findall(r"^\s*#\s*([A-Z][A-Z0-9]*_[A-Z0-9_]+):", text, re.M)
        for name in names:
            if name not in known_env:
                problem(f"{file_name}: {name} is not a variable the code reads")

    uid = dockerfile_uid()
    web_shutdown = rust_constant("web/src/startup.rs", r"\.shutdown_timeout\((\d+)\)", "the web shutdown timeout")
    worker_grace = rust_constant(
        "worker/src/runner.rs", r"SHUTDOWN_GRACE: Duration = Duration::from_secs\((\d+)\)", "the worker's SHUTDOWN_GRACE"
    )

    workloads = [(kind, name, f, obj) for kind in ("Deployment", "Job") for name, (f, obj) in by_kind.get(kind, {}).items()]
    for kind, name, file_name, obj in workloads:
        where = f"{file_name}: {kind} {name}"
        template = obj["spec"]["template"]
        labels = template["metadata"].get("labels", {})
        if kind == "Deployment":
            selector = obj["spec"]["selector"]["matchLabels"]
            if any(labels.get(k) != v for k, v in selector.items()):
                problem(f"{where}: selector {selector} does not match the pod labels {labels}")
        pod = template["spec"]
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problem(f"{where}: runAsNonRoot is not true")
        if uid is not None and pod_security.get("runAsUser") != uid:
            problem(f"{where}: runAsUser {pod_security.get('runAsUser')} is not the image's uid {uid}")
        if pod.get("serviceAccountName") not in by_kind.get("ServiceAccount", {}):
            problem(f"{where}: service account {pod.get('serviceAccountName')} is not defined")
        for container in pod["containers"]:
            cwhere = f"{where} container {container['name']}"
            security = container.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                problem(f"{cwhere}: allowPrivilegeEscalation is not false")
            if security.get("readOnlyRootFilesystem") is not True:
                problem(f"{cwhere}: readOnlyRootFilesystem is not true")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                problem(f"{cwhere}: capabilities are not dropped")
            resources = container.get("resources", {})
            if "memory" not in resources.get("requests", {}) or "memory" not in resources.get("limits", {}):
                problem(f"{cwhere}: no memory request and limit")
            for source in container.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in config_maps:
                    problem(f"{cwhere}: ConfigMap {source['configMapRef']['name']} is not defined")
                if "secretRef" in source and source["secretRef"]["name"] not in secrets:
                    problem(f"{cwhere}: Secret {source['secretRef']['name']} is not in secret.example.yaml")
            for env in container.get("env", []):
                if env["name"] not in known_env:
                    problem(f"{cwhere}: {env['name']} is not a variable the code reads")
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["key"] not in secret_keys.get(ref["name"], set()):
                    problem(f"{cwhere}: Secret {ref['name']} key {ref['key']} is not in secret.example.yaml")
            port_names = {p.get("name") for p in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str) and port not in port_names:
                    problem(f"{cwhere}: {probe} uses port {port!r}, which the container does not declare")
            if kind == "Deployment" and not all(p in container for p in ("readinessProbe", "livenessProbe")):
                problem(f"{cwhere}: no readiness or liveness probe")
            # The pod must outlive the process's own graceful stop (plus a preStop pause).
            pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            pause = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] and len(pre_stop) == 2 else 0
            own = {"web": web_shutdown, "worker": worker_grace}.get(container["name"])
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if kind == "Deployment" and own is not None and grace < pause + own + 5:
                problem(f"{cwhere}: terminationGracePeriodSeconds {grace} < preStop {pause} s + shutdown {own} s + 5 s")

    pods = {
        name: obj["spec"]["template"]["metadata"].get("labels", {}) for name, (_, obj) in by_kind.get("Deployment", {}).items()
    }

    def selects_a_deployment(selector, where):
        if not any(all(labels.get(k) == v for k, v in selector.items()) for labels in pods.values()):
            problem(f"{where}: selector {selector} matches no Deployment's pods")

    for name, (file_name, obj) in by_kind.get("Service", {}).items():
        selects_a_deployment(obj["spec"]["selector"], f"{file_name}: Service {name}")
        for port in obj["spec"]["ports"]:
            target = port.get("targetPort")
            if isinstance(target, str) and not any(
                target in {p.get("name") for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                for _, d in by_kind["Deployment"].values()
            ):
                problem(f"{file_name}: Service {name} targets port {target!r}, which no container declares")
    for name, (file_name, obj) in by_kind.get("PodDisruptionBudget", {}).items():
        selects_a_deployment(obj["spec"]["selector"]["matchLabels"], f"{file_name}: PodDisruptionBudget {name}")
    for name in pods:
        if not any(
            all(pods[name].get(k) == v for k, v in obj["spec"]["selector"]["matchLabels"].items())
            for _, obj in by_kind.get("PodDisruptionBudget", {}).values()
        ):
            problem(f"Deployment {name} has no PodDisruptionBudget")
    for name, (file_name, obj) in by_kind.get("HorizontalPodAutoscaler", {}).items():
        target = obj["spec"]["scaleTargetRef"]
        if target["name"] not in by_kind.get(target["kind"], {}):
            problem(f"{file_name}: HorizontalPodAutoscaler {name} scales {target['kind']} {target['name']}, which is not defined")
        elif "replicas" in by_kind[target["kind"]][target["name"]][1]["spec"]:
            problem(f"{file_name}: {target['name']} sets replicas, which would fight its HorizontalPodAutoscaler")
    finish("kubernetes consistency", f"{len(objects)} objects, {len(workloads)} pod templates")


# ------------------------------------------------------------------ compose


def check_compose_files():
    """Files compose mounts or builds from exist (docker-compose config does not look)."""
    compose = load_yaml_documents(DEPLOY / "compose.yaml")[0]
    for name, service in compose.get("services", {}).items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                if not (DEPLOY / source).exists():
                    problem(f"service {name} mounts {source}, which does not exist")
        build = service.get("build")
        if isinstance(build, dict):
            context = DEPLOY / build.get("context", ".")
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                problem(f"service {name} builds from {build.get('dockerfile')}, which is not in {context}")
    mounts = {
        volume.split(":")[1]
        for volume in compose["services"]["grafana"]["volumes"]
        if isinstance(volume, str) and volume.startswith("./grafana/")
    }
    provisioning = load_yaml_documents(DEPLOY / "grafana" / "provisioning" / "dashboards" / "salon-crm.yml")[0]
    for provider in provisioning["providers"]:
        if provider["options"]["path"] not in mounts:
            problem(f"Grafana loads dashboards from {provider['options']['path']}, which compose does not mount")
    datasources = load_yaml_documents(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")[0]
    if not any(d.get("type") == "prometheus" for d in datasources["datasources"]):
        problem("no Prometheus data source is provisioned")
    finish("compose files")


# ------------------------------------------------------------------ container build context


def copy_docker_context(out_dir):
    """Copies what deploy/Dockerfile.dockerignore lets into the build context to out_dir.

    Only the allowlist form is understood (`*`, then `!path` lines): anything else fails, so
    that this check never silently copies a different context than Docker would send."""
    out = Path(out_dir)
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not lines or lines[0] != "*":
        problem("Dockerfile.dockerignore does not start with `*` (an allowlist)")
    for line in lines[1:]:
        if not line.startswith("!") or any(c in line for c in "*?["):
            problem(f"Dockerfile.dockerignore: {line!r} is not a plain `!path` (this check understands no other form)")
            continue
        path = line[1:].strip("/")
        source = ROOT / path
        if not source.exists():
            problem(f"Dockerfile.dockerignore allows {path}, which does not exist")
        elif source.is_dir():
            shutil.copytree(source, out / path, ignore=shutil.ignore_patterns("target"))
        else:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / path)
    # COPY sources of the Dockerfile (not those --from another stage) must be in the context.
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for source in [w for w in words[1:-1] if not w.startswith("--")]:
                if source != "." and not (out / source).exists():
                    problem(f"Dockerfile: COPY {source} is not in the build context")
    # Files the crates read at compile time must be in the context too.
    for crate in ("shared", "web", "worker"):
        for path in (out / crate).rglob("*.rs"):
            text = path.read_text(encoding="utf-8")
            for rel in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', text):
                if not (path.parent / rel).exists():
                    problem(f"{path.relative_to(out)} includes {rel}, which is not in the build context")
            for rel in re.findall(r'embed_migrations!\(\s*"([^"]+)"', text):
                if not (out / crate / rel).is_dir():
                    problem(f"{path.relative_to(out)} embeds {rel}, which is not in the build context")
    finish("docker context")


COMMANDS = {
    "metrics": check_metrics,
    "dashboard-rules": check_dashboard_rules,
    "alert-coverage": check_alert_coverage,
    "prometheus-without-kubernetes-sd": write_prometheus_without_kubernetes_sd,
    "prometheus-jobs": check_prometheus_jobs,
    "kustomization": check_kustomization,
    "kubernetes-consistency": check_kubernetes_consistency,
    "compose-files": check_compose_files,
    "docker-context": copy_docker_context,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(COMMANDS)}}} [ARGS]")
    COMMANDS[sys.argv[1]](*sys.argv[2:])
