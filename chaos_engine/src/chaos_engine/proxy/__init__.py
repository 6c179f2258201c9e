"""A Toxiproxy-compatible TCP fault proxy: the same HTTP API, toxics, defaults and status codes.

>>> from chaos_engine.proxy import ProxyServer
>>> with ProxyServer(port=0) as server:                      # doctest: +SKIP
...     proxy = server.collection.create({"name": "db", "upstream": "127.0.0.1:5432"})
...     proxy.add_toxic({"type": "latency", "attributes": {"latency": 100}})
"""

from chaos_engine.proxy._api import TOXIPROXY_API_VERSION, ProxyServer
from chaos_engine.proxy._proxy import ApiError, Proxy, ProxyCollection, split_address
from chaos_engine.proxy._toxics import TOXIC_TYPES, Toxic, ToxicError

__all__ = [
    "TOXIC_TYPES",
    "TOXIPROXY_API_VERSION",
    "ApiError",
    "Proxy",
    "ProxyCollection",
    "ProxyServer",
    "Toxic",
    "ToxicError",
    "split_address",
]
