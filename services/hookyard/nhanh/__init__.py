"""Speaking Nhanh.vn: its webhook shapes (v2 and v3) and its Open API."""
