"""The OpenAPI document as check_responses.py and examples.py read it: its operations found by a
request's method and concrete path (templates with the fewest parameters first, so
`/orders/validate` is not taken for `/orders/{id}`), and schema validators with its components."""
import json
import re

import jsonschema_rs


class Document:
    def __init__(self, path):
        self.doc = json.load(open(path, encoding="utf-8"))
        self.templates = []
        for template, item in self.doc["paths"].items():
            segments = ("[^/]+" if seg.startswith("{") else re.escape(seg) for seg in template.split("/"))
            self.templates.append((template.count("{"), re.compile("^" + "/".join(segments) + "$"), template, item))
        self.templates.sort(key=lambda t: t[0])
        self.validators = {}

    def operation(self, method, path):
        """(template, operation) for a request, or None when the document has no such operation."""
        for _, pattern, template, item in self.templates:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            self.validators[key] = jsonschema_rs.validator_for({**schema, "components": self.doc["components"]})
        return self.validators[key]
