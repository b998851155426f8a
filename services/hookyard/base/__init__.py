"""The base of the house: errors, settings, shops and API tokens, queue and actor names, Redis
key names, metrics, logs, ids and strict JSON. It imports nothing else of Hookyard's."""
