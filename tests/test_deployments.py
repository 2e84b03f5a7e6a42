"""The deployments are declared twice on purpose: `prefect.yaml` for workers on a work pool, `flows/serve.py`
for `regie up`. They must be the same deployments: names, entrypoints, descriptions, tags, schedules."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def declared_in_prefect_yaml() -> dict[str, dict[str, object]]:
    data = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    found = {}
    for d in data["deployments"]:
        module, _, function = d["entrypoint"].rpartition(".")
        schedules = []
        for s in d.get("schedules", []):
            schedules.append(("interval", s["interval"]) if "interval" in s else ("cron", s["cron"], s["timezone"]))
        found[d["name"]] = {"entrypoint": f"{module.replace('.', '/')}.py:{function}", "tags": d["tags"],
                            "description": " ".join(d["description"].split()), "schedules": schedules}
    return found


def served_by_regie_up() -> dict[str, dict[str, object]]:
    from flows.serve import deployments

    found = {}
    for d in deployments():
        schedules = []
        for s in d.schedules:
            inner = s.schedule
            if hasattr(inner, "interval"):
                schedules.append(("interval", int(inner.interval / timedelta(seconds=1))))
            else:
                schedules.append(("cron", inner.cron, inner.timezone))
        found[d.name] = {"entrypoint": d.entrypoint, "tags": d.tags, "description": " ".join(d.description.split()),
                         "schedules": schedules}
    return found


def test_regie_up_serves_exactly_the_deployments_prefect_yaml_declares():
    yaml_side, served = declared_in_prefect_yaml(), served_by_regie_up()

    assert sorted(served) == sorted(yaml_side)
    for name in yaml_side:
        assert served[name] == yaml_side[name], name


def test_the_inbox_deployment_has_the_name_delivery_looks_for():
    from integrations.prefect_channels import INBOX_DEPLOYMENT

    flow_name, deployment = INBOX_DEPLOYMENT.split("/")
    assert declared_in_prefect_yaml()[deployment]["entrypoint"] == "flows/user_task.py:user_task"
    assert flow_name == "user-task"


def test_every_deployment_enforces_its_parameter_schema_so_the_server_refuses_what_does_not_fit():
    data = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert all(d["enforce_parameter_schema"] is True for d in data["deployments"])

    from flows.serve import deployments

    assert all(d.enforce_parameter_schema for d in deployments())



# Words of the old English texts people met in the Prefect UI (deployment pages, run forms).
ENGLISH = re.compile(r"\b(the|a|every|when|who|which|the case|step|deadline|today|reference|process data|"
                     r"free text|send|publish|deliver|fire|erase|import|write|start a|complete)\b", re.I)


def _descriptions(schema: object) -> list[str]:
    if isinstance(schema, dict):
        return [v for k, v in schema.items() if k == "description" and isinstance(v, str)] + \
            [d for k, v in schema.items() if k != "description" for d in _descriptions(v)]
    return [d for v in schema for d in _descriptions(v)] if isinstance(schema, list) else []


def test_what_people_read_about_a_deployment_and_its_parameters_is_dutch():
    from flows.serve import deployments

    for d in deployments():
        texts = [d.description, *_descriptions(d._parameter_openapi_schema.model_dump())]
        for text in texts:
            assert ENGLISH.findall(text) == [], (d.name, text)
