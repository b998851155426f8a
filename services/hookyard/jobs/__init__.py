"""The job platform: records and their store, the broker and its consumer, the lifecycle
middleware, the sweeper and presence, the audit log and operator actions, and the runtime an
actor body gets. It imports no domain (``hookyard.sync``, ``hookyard.themes``) and no Shopify."""
