-----BEGIN PRIVATE KEY-----
ZGVtby1hcG5zLWtleS1ub3QtcmVhbA==
-----END PRIVATE KEY-----
