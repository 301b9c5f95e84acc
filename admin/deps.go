package admin

import (
	"context"
	"time"

	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer/keys"
)

// Store is what the console keeps and reads on the issuer's side. Both
// stores (Postgres and the embedded SQLite) implement it.
type Store interface {
	store.AdminStore
}

// KeyManager is the issuer's key schedule as the console uses it;
// *keys.Manager implements it. Rotate audits under the actor set with
// keys.WithActor.
type KeyManager interface {
	List(ctx context.Context) ([]keys.KeyInfo, error)
	Rotate(ctx context.Context) (keys.KeyInfo, error)
	NextRotation() time.Time
	Published(t time.Time) []keys.KeyInfo
	Policy() keys.Policy
}

var _ KeyManager = (*keys.Manager)(nil)

// Deps are the console's collaborators.
type Deps struct {
	Store Store
	Keys  KeyManager
	// Stats reads the redeemer's aggregate counters (RemoteStats in
	// production, StoreStats in dev); nil shows none.
	Stats StatsSource
}
