"""The OpenAPI 3.1 document, assembled from spec modules kept beside the handlers they describe."""
