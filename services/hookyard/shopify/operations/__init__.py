"""The GraphQL operations Hookyard sends to Shopify: query text, cost estimate, result parsing.

One function per operation; each takes a ``ShopifyClient`` (anything with its ``execute``),
enforces Shopify's input limits *before* calling (a programming error raises ``ValueError``), and
turns ``userErrors`` into the error tree: ``IDEMPOTENCY_CONCURRENT_REQUEST`` is retryable
(``ShopifyError``), every other user error is ``ShopifyRejected`` with the codes in
``details["codes"]``.

The operations are kept by Shopify domain: ``inventory``, ``customers``, ``metafields`` and
``themes``, over ``calls`` (the executor, cost rules, page size, user errors and search terms
they share). Bulk queries are ``hookyard.shopify.bulk``. Code in ``hookyard`` imports from the
module that defines a name.

This package also lists every operation's public name, because the Shopify tests drive the
operations of all four domains through one namespace (``from hookyard.shopify import
operations as ops``; ``ops.set_inventory_quantities``, ``ops.list_themes``...) and would
otherwise need many names from several modules.
"""

from hookyard.shopify.operations.calls import (
    MAX_PAGE_SIZE,
    MUTATION_COST,
    RETRYABLE_USER_ERROR_CODES,
    Executor,
    connection_cost,
    raise_for_user_errors,
    search_term,
)
from hookyard.shopify.operations.customers import (
    CUSTOMERS_BY_CONTACT,
    MAX_CUSTOMER_SEARCH_PAGES,
    CustomerSearch,
    find_customers,
    search_customers,
)
from hookyard.shopify.operations.inventory import (
    INVENTORY_ITEMS_BY_SKU,
    INVENTORY_SET_QUANTITIES,
    MAX_INVENTORY_QUANTITIES,
    SKUS_PER_LOOKUP,
    InventoryQuantity,
    find_inventory_items_by_sku,
    set_inventory_quantities,
)
from hookyard.shopify.operations.metafields import (
    MAX_METAFIELDS,
    METAFIELDS_SET,
    MetafieldInput,
    set_metafields,
)
from hookyard.shopify.operations.themes import (
    MAX_THEME_FILES,
    THEME,
    THEME_CREATE,
    THEME_FILENAMES,
    THEME_FILES_DELETE,
    THEME_FILES_UPSERT,
    THEMES,
    ThemeFile,
    create_theme,
    delete_theme_files,
    get_theme,
    list_theme_filenames,
    list_themes,
    upsert_theme_files,
)

__all__ = [
    "CUSTOMERS_BY_CONTACT",
    "INVENTORY_ITEMS_BY_SKU",
    "INVENTORY_SET_QUANTITIES",
    "MAX_CUSTOMER_SEARCH_PAGES",
    "MAX_INVENTORY_QUANTITIES",
    "MAX_METAFIELDS",
    "MAX_PAGE_SIZE",
    "MAX_THEME_FILES",
    "METAFIELDS_SET",
    "MUTATION_COST",
    "RETRYABLE_USER_ERROR_CODES",
    "SKUS_PER_LOOKUP",
    "THEME",
    "THEMES",
    "THEME_CREATE",
    "THEME_FILENAMES",
    "THEME_FILES_DELETE",
    "THEME_FILES_UPSERT",
    "CustomerSearch",
    "Executor",
    "InventoryQuantity",
    "MetafieldInput",
    "ThemeFile",
    "connection_cost",
    "create_theme",
    "delete_theme_files",
    "find_customers",
    "find_inventory_items_by_sku",
    "get_theme",
    "list_theme_filenames",
    "list_themes",
    "raise_for_user_errors",
    "search_customers",
    "search_term",
    "set_inventory_quantities",
    "set_metafields",
    "upsert_theme_files",
]
