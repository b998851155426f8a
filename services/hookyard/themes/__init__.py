"""Theme deploys: bundles read with bounded work, checked, stored, and uploaded to Shopify in
batches with progress. It never imports ``hookyard.sync``.

The modules, each importing only those before it: ``bundle_limits`` (the limits a read is
bounded by, its budget, the entry-name check), ``tar_gz_reader`` and ``zip_reader`` (the
bounded archive readers), ``bundles`` (a bundle into checked theme files) and ``deploys`` (the
deploy job)."""
