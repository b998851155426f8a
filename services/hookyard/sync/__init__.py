"""The Nhanh.vn -> Shopify sync: Nhanh webhooks turned into jobs, contact matching, batched
newest-wins writes, catalogue snapshots and their prefill. It never imports ``hookyard.themes``."""
