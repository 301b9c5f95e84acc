-- The issuer deletes orders that stayed pending (never paid) past
-- orders.prune_pending_after (issuer/orders.go, PruneOrders): abandoned
-- checkouts would otherwise pile up. Their payment_refs and idempotency rows
-- go with them (ON DELETE CASCADE, run as the owner of those tables).

-- +goose Up
GRANT DELETE ON orders TO blindpass_issuer;

-- +goose Down
REVOKE DELETE ON orders FROM blindpass_issuer;
