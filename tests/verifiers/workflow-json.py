"""Prints each GitHub Actions workflow file as one JSON document a line, read as GitHub reads it:
YAML 1.2, where `on:` is the key "on" (a YAML 1.1 reader such as PyYAML makes it the boolean true)
and a key given twice is an error. The reader is ruamel.yaml, check-jsonschema's, from the tools'
venv (tests/verifiers/requirements.txt):

    workflow-json.py WORKFLOW.yml...

Exit status 0; non-zero, with the reader's message, when a file is not YAML.
"""

import json
import sys

from ruamel.yaml import YAML

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as file:
        print(json.dumps(YAML(typ="safe", pure=True).load(file)))
