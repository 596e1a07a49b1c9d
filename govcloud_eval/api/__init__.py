"""What every API view shares: the error shape, pagination, throttles and the schema hooks.

Below every app (like ``govcloud_eval.listing``): it imports no project module, so that the API
views of every layer may use it.
"""
