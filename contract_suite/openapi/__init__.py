"""The spec: loading it into operations (the one loader), its lint, and the knife4j page it is checked against."""
