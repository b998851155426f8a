"""Theme deploys: bundles read with bounded work, checked, stored, and uploaded to Shopify in
batches with progress. It never imports ``hookyard.sync``."""
