package config

// FlagDefaults are the environment variables that give the defaults of the
// storage flags of `blindpassd dev`, `migrate`, `keys` and the flag-only
// forms of the roles (--data-dir, --database-url, --kek-file).
type FlagDefaults struct {
	DataDir     string // BLINDPASS_DATA_DIR, default ./blindpass-data
	DatabaseURL string // BLINDPASS_DATABASE_URL, empty = embedded SQLite
	// DatabaseURLFile is BLINDPASS_DATABASE_URL_FILE: a file holding the URL.
	DatabaseURLFile string
	KEKFile         string // BLINDPASS_KEK_FILE, default <data-dir>/kek
}

// DefaultDataDir is the data directory when neither flag nor environment
// names one.
const DefaultDataDir = "./blindpass-data"

// StorageFlagDefaults reads the storage flags' environment variables from env.
func StorageFlagDefaults(env Env) FlagDefaults {
	d := FlagDefaults{DataDir: env["BLINDPASS_DATA_DIR"], DatabaseURL: env["BLINDPASS_DATABASE_URL"],
		DatabaseURLFile: env["BLINDPASS_DATABASE_URL_FILE"], KEKFile: env["BLINDPASS_KEK_FILE"]}
	if d.DataDir == "" {
		d.DataDir = DefaultDataDir
	}
	return d
}

// ReadSecretFile reads a one-value secret file (a database URL, a token):
// surrounding white space is dropped; a missing or empty file is an error.
func ReadSecretFile(path string) (string, error) { return readSecret(path) }
