"""The endpoints controller: Services' selectors + pods' observed readiness -> Endpoints."""
