"""Checks in-toto statements against the in-toto Attestation Framework's own Python bindings
(PyPI in-toto-attestation, pinned in xtask/src/commands/test/venv.rs), not against anything this
project wrote:

    check-statement.py STATEMENT.json...

For each file:

1. protobuf's JSON parser reads it into the framework's Statement message, strictly: a field the
   schema does not have, or a value of the wrong type, fails.
2. The bindings' own `Statement.validate()` and `ResourceDescriptor.validate()` (the statement's
   type, a subject with a digest, a predicate type and predicate).
3. A statement of SLSA provenance v1 (https://slsa.dev/provenance/v1) has its predicate read, as
   strictly, into the framework's Provenance message, every resolved dependency validated by the
   bindings, and then the fields SLSA v1 requires checked here (the framework's Go bindings
   check the same; the Python ones have no predicate validator): buildDefinition.buildType,
   buildDefinition.externalParameters (not empty), runDetails.builder.id.

Exit status 0 and a line per file on success; 1 and the reason for the first that fails.
"""

import json
import sys

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"


def check_provenance(predicate: dict) -> None:
    provenance = json_format.ParseDict(predicate, provenance_pb2.Provenance())
    definition = provenance.build_definition
    for dependency in definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(dependency).validate()
    if not definition.build_type:
        raise ValueError("buildDefinition.buildType required")
    if len(definition.external_parameters) == 0:
        raise ValueError("buildDefinition.externalParameters required")
    if not provenance.run_details.builder.id:
        raise ValueError("runDetails.builder.id required")


def check(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        text = file.read()
    message = json_format.Parse(text, statement_pb2.Statement())
    Statement.copy_from_pb(message).validate()
    document = json.loads(text)
    if message.predicate_type == SLSA_PROVENANCE_V1:
        check_provenance(document["predicate"])
    return message.predicate_type


def main(paths: list) -> int:
    if not paths:
        print("usage: check-statement.py STATEMENT.json...", file=sys.stderr)
        return 1
    for path in paths:
        try:
            predicate_type = check(path)
        except Exception as error:  # the reason, whatever raised it, is the output
            print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        print(f"{path}: a valid in-toto statement of {predicate_type}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
