"""Harbor's REST API v2.0 under ``/api/v2.0``: Harbor's paths, JSON shapes and errors.

``resource`` glues it to twisted.web, ``routing`` matches raw paths, ``call`` carries one
request, ``auth`` finds the caller, ``listing`` reads ``q``/``page``/``sort``; the other
modules hold the endpoints, which ask the services in ``harbor_twisted.core``.
"""
