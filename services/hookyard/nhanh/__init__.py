"""Nhanh.vn Open API v3: the client, paced under Nhanh's limit shared by every replica, and the
reads Hookyard makes (customers' totals, products' stock).

Importing this package does nothing but define names; see ``client``, ``access``, ``customers``
and ``products``, and docs/nhanh.md.
"""

from hookyard.nhanh.client import NhanhClient, Page
from hookyard.nhanh.customers import NhanhCustomer, read_customers
from hookyard.nhanh.products import NhanhProduct, NhanhStock, iter_products

__all__ = [
    "NhanhClient",
    "NhanhCustomer",
    "NhanhProduct",
    "NhanhStock",
    "Page",
    "iter_products",
    "read_customers",
]
