"""Checking real API answers against the published OpenAPI document: the operation the app routed
the request to must document the status code, and the body must validate - with jsonschema, the
real JSON Schema 2020-12 validator (OpenAPI 3.1's dialect), and every object closed so that a field
the code emits but the document does not describe fails too."""

from __future__ import annotations

import re

import jsonschema

PREFIX = "/api/v1"
#: docs/api.md: times are UTC, to the second, with a Z - stricter than RFC 3339.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time")
def _api_time(value) -> bool:
    return not isinstance(value, str) or bool(_DATETIME.match(value))


def spec_path(rule: str) -> str:
    """'/api/v1/reports/<int:report_id>' -> '/reports/{report_id}' (written here again, not taken
    from the generator that the tests check)."""
    assert rule.startswith(PREFIX + "/")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def closed(schema):
    """A copy in which every object that lists its properties allows no others: responses may grow
    ([docs/api.md](../../docs/api.md#responses-may-grow)), but a field the code emits and the
    document does not describe must fail here."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


def schema_errors(instance, schema: dict, spec: dict) -> list[str]:
    """Errors of `instance` against `schema` (refs into spec's components), all objects closed."""
    root = {"components": closed(spec["components"]), **closed(schema)}
    jsonschema.Draft202012Validator.check_schema(root)
    validator = jsonschema.Draft202012Validator(root, format_checker=FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(instance)]


class Checker:
    """Checks each response against the operation the app routed it to, and remembers which
    (method, path, status) it saw."""

    def __init__(self, app, spec):
        self.adapter = app.url_map.bind("localhost")
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        rule, _ = self.adapter.match(path.split("?")[0], method=method, return_rule=True)
        p = spec_path(rule.rule)
        return p, self.spec["paths"][p][method.lower()]

    def check(self, response, method: str, path: str):
        p, op = self.operation(method, path)
        status = response.status_code
        assert str(status) in op["responses"], f"{method} {p} answered {status}, not documented: {response.get_data(as_text=True)[:300]}"
        documented = resolve(self.spec, op["responses"][str(status)])
        content = documented.get("content")
        if content is None:
            assert response.get_data() == b"", f"{method} {p} {status} has a body but none is documented"
        else:
            assert response.mimetype in content or "*/*" in content, (method, p, status, response.mimetype)
            if response.mimetype == "application/json":
                errors = schema_errors(response.get_json(), content[response.mimetype]["schema"], self.spec)
                assert not errors, f"{method} {p} {status} does not match its schema:\n" + "\n".join(errors[:20])
        self.seen.add((method, p, status))
        return response


def call(checker: Checker, who, method: str, path: str, expect: int, **kw):
    response = getattr(who, method.lower())(path, **kw)
    assert response.status_code == expect, (method, path, response.status_code, response.get_data(as_text=True)[:500])
    checker.check(response, method, path)
    return response.get_json(silent=True)
