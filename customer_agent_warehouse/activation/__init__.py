"""Activation (spec §11): the four events and the segments as request bodies of Klaviyo's API, and `--push`.

Modules: `klaviyo` (the API's paths, revision, limits and body shapes; schemas in `schemas/`), `config` (the
activation vars), `source` (what is read from the warehouse), `state` (the `--since-last` state), `export`
(bodies and manifest), `push` (resumable sending) and `command` (the `export` command).
"""
