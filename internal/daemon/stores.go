package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/blindpass/blindpass/internal/config"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/internal/store/postgres"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/issuer/keys"
)

// storage is where a role keeps its state: a Postgres database, or the
// embedded SQLite files in the data directory.
type storage struct {
	dataDir     string
	databaseURL string
	urlFile     string // --database-url-file: read into databaseURL by resolve
	kekFile     string
}

// register adds the storage flags; their defaults come from the environment
// (read by package config, the one place that reads it).
func (s *storage) register(fs *pflag.FlagSet) {
	env := config.StorageFlagDefaults(config.OSEnv())
	fs.StringVar(&s.dataDir, "data-dir", env.DataDir,
		"directory for the embedded store and the dev key-encryption key (env BLINDPASS_DATA_DIR)")
	fs.StringVar(&s.databaseURL, "database-url", env.DatabaseURL,
		"Postgres URL; empty = embedded SQLite in --data-dir (env BLINDPASS_DATABASE_URL)")
	fs.StringVar(&s.urlFile, "database-url-file", env.DatabaseURLFile,
		"file holding the Postgres URL, instead of --database-url (env BLINDPASS_DATABASE_URL_FILE)")
	fs.StringVar(&s.kekFile, "kek-file", env.KEKFile,
		"file with the base64 32-byte key that encrypts issuer private keys at rest; default <data-dir>/kek (env BLINDPASS_KEK_FILE)")
}

// resolve reads --database-url-file, if given, into the database URL.
func (s *storage) resolve() error {
	if s.urlFile == "" {
		return nil
	}
	if s.databaseURL != "" {
		return usageError{fmt.Errorf("--database-url and --database-url-file are both set (also from BLINDPASS_DATABASE_URL and BLINDPASS_DATABASE_URL_FILE); give one")}
	}
	u, err := config.ReadSecretFile(s.urlFile)
	if err != nil {
		return fmt.Errorf("--database-url-file: %w", err)
	}
	s.databaseURL, s.urlFile = u, ""
	return nil
}

// database is the storage flags as a role configuration's database.
func (s *storage) database() (config.Database, error) {
	if err := s.resolve(); err != nil {
		return config.Database{}, err
	}
	if s.postgres() {
		return config.Database{URL: s.databaseURL}, nil
	}
	return config.Database{DataDir: s.dataDir}, nil
}

func (s *storage) postgres() bool { return s.databaseURL != "" }

func (s *storage) ensureDataDir() error {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", s.dataDir, err)
	}
	return nil
}

// describe says where state lives, without credentials.
func (s *storage) describe() string {
	if s.postgres() {
		return "postgres " + redactURL(s.databaseURL)
	}
	return "embedded SQLite in " + s.dataDir
}

// stores opens the issuer and redeemer stores. With Postgres both roles use
// one database (their tables are disjoint); embedded, each role has its own
// file, as separate databases would in production. migrate applies pending
// migrations (the embedded store always does).
type stores struct {
	issuer   store.IssuerStore
	redeemer store.RedeemerStore
	closers  []func() error
}

func (st *stores) Close() {
	for _, c := range st.closers {
		_ = c()
	}
}

func (s *storage) open(ctx context.Context, wantIssuer, wantRedeemer, migrate bool) (*stores, error) {
	if err := s.resolve(); err != nil {
		return nil, err
	}
	out := &stores{}
	if s.postgres() {
		pg, err := postgres.Open(ctx, s.databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", redactURL(s.databaseURL), err)
		}
		out.closers = append(out.closers, pg.Close)
		if migrate {
			if err := pg.Migrate(ctx); err != nil {
				out.Close()
				return nil, fmt.Errorf("migrate: %w", err)
			}
		}
		out.issuer, out.redeemer = pg, pg
		return out, nil
	}
	if err := s.ensureDataDir(); err != nil {
		return nil, err
	}
	if wantIssuer {
		db, err := sqlite.Open(ctx, filepath.Join(s.dataDir, "issuer.db"))
		if err != nil {
			return nil, fmt.Errorf("open issuer store: %w", err)
		}
		out.closers = append(out.closers, db.Close)
		out.issuer = db
	}
	if wantRedeemer {
		db, err := sqlite.Open(ctx, filepath.Join(s.dataDir, "redeemer.db"))
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("open redeemer store: %w", err)
		}
		out.closers = append(out.closers, db.Close)
		out.redeemer = db
	}
	return out, nil
}

// kek loads the key-encryption key; with create (dev mode) it makes one in
// the data directory when none exists.
func (s *storage) kek(create bool) ([]byte, error) {
	path := s.kekFile
	if path == "" {
		path = filepath.Join(s.dataDir, "kek")
	}
	if _, err := os.Stat(path); os.IsNotExist(err) && create {
		if err := s.ensureDataDir(); err != nil {
			return nil, err
		}
		return keys.CreateKEK(path)
	}
	kek, err := keys.LoadKEK(path)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w (set --kek-file or BLINDPASS_KEK_FILE)", err)
	}
	return kek, nil
}
