package config

import "time"

// Admin configures `blindpassd admin`, the operator console. It reads the
// issuer's database and asks the issuer and the redeemer over their internal
// URLs; it is never exposed without the TLS proxy and its own login.
type Admin struct {
	Server `yaml:",inline"`
	// IssuerURL is the issuer's internal base URL, e.g. http://issuer:8700.
	// Required.
	IssuerURL string `yaml:"issuer_url"`
	// RedeemerURL is the redeemer's internal base URL, e.g.
	// http://redeemer:8701. Required.
	RedeemerURL string `yaml:"redeemer_url"`
	// Database is the issuer's database (the console's role may be
	// read-mostly).
	Database Database `yaml:"database"`
	// Log is the log format and level.
	Log Log `yaml:"log"`
}

// LoadAdmin reads the admin configuration at path, applies the
// BLINDPASS_ADMIN_* variables of env, fills defaults and checks everything.
func LoadAdmin(path string, env Env) (*Admin, error) {
	cfg := &Admin{}
	if err := load("admin", path, env, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Admin) validate() error {
	v := &validator{}
	c.Server.check(v, DefaultAdminListen, 30*time.Second)
	v.httpURL("issuer_url", c.IssuerURL)
	v.httpURL("redeemer_url", c.RedeemerURL)
	c.Database.check(v, "database")
	c.Log.check(v)
	return v.err()
}
