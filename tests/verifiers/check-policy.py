"""Checks Kubernetes policy documents (docs/admission-policies.md's ClusterImagePolicy, ClusterPolicy
and ImageValidatingPolicy) against structural schemas of their custom resources, with PyPI's
`jsonschema` (pinned in xtask/src/commands/suites/venv.rs):

    check-policy.py SCHEMA_DIR POLICY.yaml...

SCHEMA_DIR holds one JSON file per custom resource: its group, version, kind and an
openAPIV3Schema (tests/verifiers/policy-schemas/: written for this project from the controllers'
documented fields, each saying so; not the controllers' own CRDs). Each document is
read with PyYAML (anchors resolved, as kubectl reads it) and validated against the schema of its
apiVersion and kind, as strictly as an API server with strict field validation
(`kubectl apply --validate=strict`): a structural schema lists every field an object may have,
so a field it does not list (a misspelling) is refused here, where plain JSON Schema would let
it pass. `x-kubernetes-preserve-unknown-fields` keeps an object open, as it does in Kubernetes;
`x-kubernetes-int-or-string` takes either. The root may hold apiVersion, kind and metadata, as
every object does.

Exit status 0 and a line per document on success; 1 and the reason for the first that fails.
"""

import json
import pathlib
import sys

import jsonschema
import yaml

ROOT_FIELDS = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def strict(schema):
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        out.get("type") == "object"
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def schemas(directory):
    found = {}
    for path in sorted(pathlib.Path(directory).glob("*.json")):
        crd = json.loads(path.read_text(encoding="utf-8"))
        root = dict(crd["openAPIV3Schema"])
        root["properties"] = {**ROOT_FIELDS, **root.get("properties", {})}
        key = (f"{crd['group']}/{crd['version']}", crd["kind"])
        found[key] = jsonschema.Draft7Validator(strict(root))
    return found


def check(validators, path):
    with open(path, encoding="utf-8") as file:
        documents = [document for document in yaml.safe_load_all(file) if document]
    if not documents:
        raise ValueError("no YAML document")
    said = []
    for document in documents:
        key = (document.get("apiVersion"), document.get("kind"))
        validator = validators.get(key)
        if validator is None:
            raise ValueError(f"no schema for {key[1]} {key[0]}")
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(root)"
            raise ValueError(f"{key[1]} {key[0]}: at {where}: {error.message}")
        said.append(f"{key[1]} {key[0]} fits its schema")
    return "; ".join(said)


def main(arguments):
    if len(arguments) < 2:
        print("usage: check-policy.py SCHEMA_DIR POLICY.yaml...", file=sys.stderr)
        return 1
    validators = schemas(arguments[0])
    for path in arguments[1:]:
        try:
            said = check(validators, path)
        except Exception as error:  # the reason, whatever raised it, is the output
            print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        print(f"{path}: {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
